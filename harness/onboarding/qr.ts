/**
 * The Matter QR code payload (Matter Core spec 5.1.3): `MT:` + base38 of 88 bits packed LSB-first into 11 bytes
 * (version 3, vendor ID 16, product ID 16, commissioning flow 2, discovery capabilities 8, discriminator 12,
 * passcode 27, padding 4), optionally followed by a TLV section; several payloads may be joined with `*`.
 */
import { base38Decode, base38Encode } from "./base38.js";
import { OnboardingError } from "./errors.js";
import {
    assertCommissioningFlow,
    assertDiscoveryCapabilities,
    assertDiscriminator,
    assertValidPasscode,
    assertVendorProduct,
} from "./rules.js";
import { decodeOnboardingTlv, type OnboardingExtension } from "./tlv.js";

export const QR_PREFIX = "MT:";
export const QR_FIXED_BYTES = 11;
/** Matter Core spec 5.1.3.2: at most 255 base38 characters per payload. */
export const QR_SINGLE_PAYLOAD_MAX_CHARS = 255;

/** The fields of one QR payload. */
export interface QrPayloadFields {
    version: number;
    vendorId: number;
    productId: number;
    commissioningFlow: number;
    discoveryCapabilities: number;
    /** The 12-bit (long) discriminator. */
    discriminator: number;
    passcode: number;
}

export interface QrPayload extends QrPayloadFields {
    /** The raw TLV section after the 88 bits, when present. */
    tlvData?: Uint8Array;
    /** The decoded TLV section, when present. */
    extension?: OnboardingExtension;
}

export type QrPayloadInput = Omit<QrPayloadFields, "version"> & { version?: number; tlvData?: Uint8Array };

const LAYOUT: Array<[keyof QrPayloadFields | "padding", number]> = [
    ["version", 3],
    ["vendorId", 16],
    ["productId", 16],
    ["commissioningFlow", 2],
    ["discoveryCapabilities", 8],
    ["discriminator", 12],
    ["passcode", 27],
    ["padding", 4],
];

/** Packs the fields into 11 bytes, LSB-first (no validation: see {@link validateQrFields}). */
export function packQrBits(f: QrPayloadFields): Uint8Array {
    const out = new Uint8Array(QR_FIXED_BYTES);
    let bit = 0;
    for (const [name, width] of LAYOUT) {
        const value = name === "padding" ? 0 : f[name];
        const word = value >>> 0 === value; // every valid field (≤ 27 bits): shifts instead of a pow per bit
        for (let i = 0; i < width; i++, bit++) {
            const set = word ? (value >>> i) & 1 : Math.floor(value / 2 ** i) % 2;
            if (set === 1) out[bit >> 3]! |= 1 << (bit & 7);
        }
    }
    return out;
}

/** Unpacks the 11 fixed bytes; returns the fields and the padding bits. */
export function unpackQrBits(bytes: Uint8Array): QrPayloadFields & { padding: number } {
    const f: Record<string, number> = {};
    let bit = 0;
    for (const [name, width] of LAYOUT) {
        let value = 0;
        for (let i = 0; i < width; i++, bit++) {
            if ((bytes[bit >> 3]! >> (bit & 7)) & 1) value += 2 ** i;
        }
        f[name] = value;
    }
    return f as unknown as QrPayloadFields & { padding: number };
}

/** Producer rules (connectedhomeip ValidationMode::kProduce). */
export function validateQrFields(f: QrPayloadFields, mode: "produce" | "consume"): void {
    if (f.version !== 0) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `unsupported onboarding payload version ${f.version} (only 0)`, "version");
    }
    assertVendorProduct(f.vendorId, f.productId);
    assertCommissioningFlow(f.commissioningFlow);
    assertDiscoveryCapabilities(f.discoveryCapabilities, mode);
    assertDiscriminator(f.discriminator);
    assertValidPasscode(f.passcode);
}

function encodeOne(p: QrPayloadInput): string {
    const fields: QrPayloadFields = {
        version: p.version ?? 0,
        vendorId: p.vendorId,
        productId: p.productId,
        commissioningFlow: p.commissioningFlow,
        discoveryCapabilities: p.discoveryCapabilities,
        discriminator: p.discriminator,
        passcode: p.passcode,
    };
    validateQrFields(fields, "produce");
    let bytes = packQrBits(fields);
    if (p.tlvData !== undefined && p.tlvData.length > 0) {
        decodeOnboardingTlv(p.tlvData, QR_FIXED_BYTES); // refuse to write a section a reader would reject
        const all = new Uint8Array(QR_FIXED_BYTES + p.tlvData.length);
        all.set(bytes);
        all.set(p.tlvData, QR_FIXED_BYTES);
        bytes = all;
    }
    const text = base38Encode(bytes);
    if (text.length > QR_SINGLE_PAYLOAD_MAX_CHARS) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `QR payload of ${text.length} base38 characters (max ${QR_SINGLE_PAYLOAD_MAX_CHARS})`, "tlv");
    }
    return text;
}

/** Encodes one payload, or several joined with `*`, as `MT:…`. */
export function encodeQrCode(payload: QrPayloadInput | QrPayloadInput[]): string {
    const list = Array.isArray(payload) ? payload : [payload];
    if (list.length === 0) throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", "no payload to encode");
    return QR_PREFIX + list.map(encodeOne).join("*");
}

/** Decodes the base38 text of one payload (without `MT:`); `offset` is its position in the whole string. */
function decodeOne(text: string, offset: number): QrPayload {
    if (text.length === 0) throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", "empty QR payload segment", undefined, offset);
    if (text.length > QR_SINGLE_PAYLOAD_MAX_CHARS) {
        throw new OnboardingError("CHIP_ERROR_INVALID_STRING_LENGTH", `QR payload segment of ${text.length} characters (max ${QR_SINGLE_PAYLOAD_MAX_CHARS})`, undefined, offset);
    }
    const bytes = base38Decode(text, offset);
    if (bytes.length < QR_FIXED_BYTES) {
        throw new OnboardingError(
            "CHIP_ERROR_INVALID_ARGUMENT",
            `QR payload holds ${bytes.length} bytes, fewer than the ${QR_FIXED_BYTES} of the fixed fields`,
            undefined,
            offset,
        );
    }
    const { padding, ...fields } = unpackQrBits(bytes);
    if (padding !== 0) throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `QR payload padding bits are 0x${padding.toString(16)}, not 0`, "padding", offset);
    validateQrFields(fields, "consume");
    const result: QrPayload = fields;
    if (bytes.length > QR_FIXED_BYTES) {
        result.tlvData = bytes.slice(QR_FIXED_BYTES);
        result.extension = decodeOnboardingTlv(result.tlvData, QR_FIXED_BYTES);
    }
    return result;
}

/**
 * Decodes `MT:…` into one payload per `*`-separated segment. Strict: prefix, base38 alphabet and chunking,
 * length, version 0, padding 0, field rules (consume mode) and the TLV section are all checked.
 */
export function decodeQrCode(qr: string): QrPayload[] {
    if (typeof qr !== "string" || !qr.startsWith(QR_PREFIX)) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `a QR code payload starts with "${QR_PREFIX}"`, undefined, 0);
    }
    const payloads: QrPayload[] = [];
    let offset = QR_PREFIX.length;
    for (const segment of qr.slice(QR_PREFIX.length).split("*")) {
        payloads.push(decodeOne(segment, offset));
        offset += segment.length + 1;
    }
    return payloads;
}
