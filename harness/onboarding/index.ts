/**
 * Matter onboarding payloads: QR code (`MT:…`) and manual pairing code, both directions, with the field rules
 * of the spec and connectedhomeip. Pure functions, no I/O; bad input is an OnboardingError (a DiagnosticError
 * with a CHIP_ERROR_* code).
 */
import { OnboardingError } from "./errors.js";
import { decodeManualCode, encodeManualCode } from "./manual.js";
import { decodeQrCode, encodeQrCode, QR_PREFIX, type QrPayload } from "./qr.js";
import { assertCommissioningFlow } from "./rules.js";

export * from "./base38.js";
export * from "./errors.js";
export * from "./manual.js";
export * from "./qr.js";
export * from "./rules.js";
export * from "./tlv.js";
export * from "./verhoeff.js";

/**
 * Discovery capabilities `payload generate` writes when none are given: OnNetwork (bit 2), the default of
 * connectedhomeip's SetupPayload.py generate (`--discovery-cap-bitmask`, default 4).
 */
export const DEFAULT_DISCOVERY_CAPABILITIES = 4;

export interface OnboardingFields {
    vendorId: number;
    productId: number;
    passcode: number;
    /** 12-bit discriminator. */
    discriminator: number;
    commissioningFlow?: number;
    discoveryCapabilities?: number;
    tlvData?: Uint8Array;
}

export interface OnboardingCodes {
    qrCode: string;
    /** Digits only, as SetupPayload.py prints it (11 or 21 digits). */
    manualCode: string;
}

/** SetupPayload.py generate: the QR code and the manual code of one device. */
export function generateOnboardingCodes(f: OnboardingFields): OnboardingCodes {
    const commissioningFlow = f.commissioningFlow ?? 0;
    assertCommissioningFlow(commissioningFlow);
    const qrInput: Parameters<typeof encodeQrCode>[0] = {
        vendorId: f.vendorId,
        productId: f.productId,
        commissioningFlow,
        discoveryCapabilities: f.discoveryCapabilities ?? DEFAULT_DISCOVERY_CAPABILITIES,
        discriminator: f.discriminator,
        passcode: f.passcode,
    };
    if (f.tlvData) qrInput.tlvData = f.tlvData;
    const qrCode = encodeQrCode(qrInput);
    const manualCode = encodeManualCode({
        passcode: f.passcode,
        discriminator: f.discriminator,
        commissioningFlow,
        vendorId: f.vendorId,
        productId: f.productId,
    });
    return { qrCode, manualCode };
}

/** The `payload parse` document: fields a manual code cannot carry are null. */
export interface ParsedOnboarding {
    kind: "qr" | "manual";
    version: number | null;
    vendorId: number | null;
    productId: number | null;
    commissioningFlow: number;
    discoveryCapabilities: number | null;
    discriminator: number | null;
    shortDiscriminator: number;
    passcode: number;
}

export function qrPayloadToParsed(p: QrPayload): ParsedOnboarding {
    return {
        kind: "qr",
        version: p.version,
        vendorId: p.vendorId,
        productId: p.productId,
        commissioningFlow: p.commissioningFlow,
        discoveryCapabilities: p.discoveryCapabilities,
        discriminator: p.discriminator,
        shortDiscriminator: p.discriminator >> 8,
        passcode: p.passcode,
    };
}

/**
 * Parses either form: text starting with `MT:` is a QR payload (each `*` segment becomes one entry), anything
 * else a manual code (dashes and spaces allowed).
 */
export function parseOnboardingCode(text: string): { payloads: ParsedOnboarding[]; qr?: QrPayload[] } {
    if (typeof text !== "string" || text.length === 0) throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", "empty onboarding code");
    const trimmed = text.trim();
    if (trimmed.startsWith(QR_PREFIX)) {
        const qr = decodeQrCode(trimmed);
        return { payloads: qr.map(qrPayloadToParsed), qr };
    }
    const m = decodeManualCode(trimmed);
    return {
        payloads: [
            {
                kind: "manual",
                version: null,
                vendorId: m.vendorId,
                productId: m.productId,
                commissioningFlow: m.commissioningFlow,
                discoveryCapabilities: null,
                discriminator: null,
                shortDiscriminator: m.shortDiscriminator,
                passcode: m.passcode,
            },
        ],
    };
}
