/**
 * Field rules of the Matter onboarding payload (Matter Core spec 5.1.1 / 5.1.3 / 5.1.7; connectedhomeip
 * PayloadContents::isValidQRCodePayload / isValidManualCode / CheckPayloadCommonConstraints / IsValidSetupPIN).
 */
import { OnboardingError } from "./errors.js";

export const CommissioningFlow = { Standard: 0, UserIntent: 1, Custom: 2 } as const;
export type CommissioningFlowValue = 0 | 1 | 2;

/** Discovery capabilities bitmap (QR code only). */
export const DiscoveryCapability = { SoftAP: 1 << 0, BLE: 1 << 1, OnNetwork: 1 << 2, WiFiPAF: 1 << 3, NFC: 1 << 4 } as const;
/** Every bit a producer may set; bits 5-7 are reserved. */
export const DISCOVERY_CAPABILITIES_KNOWN = 0x1f;

export const PASSCODE_MIN = 1;
export const PASSCODE_MAX = 99_999_998;
/** Passcodes the spec forbids (5.1.7.1): 00000000, 11111111 … 99999999, 12345678, 87654321. */
export const TRIVIAL_PASSCODES: readonly number[] = [
    0, 11111111, 22222222, 33333333, 44444444, 55555555, 66666666, 77777777, 88888888, 99999999, 12345678, 87654321,
];
export const DISCRIMINATOR_MAX = 0xfff;
/** Largest operationally valid vendor ID (0xFFF1..0xFFF4 are the test vendors). */
export const VENDOR_ID_MAX = 0xfff4;

export function isValidPasscode(passcode: number): boolean {
    return Number.isSafeInteger(passcode) && passcode >= PASSCODE_MIN && passcode <= PASSCODE_MAX && !TRIVIAL_PASSCODES.includes(passcode);
}

/** Throws CHIP_ERROR_INVALID_ARGUMENT with a message saying why the passcode is refused. */
export function assertValidPasscode(passcode: number, field = "passcode"): void {
    if (!Number.isSafeInteger(passcode)) {
        throw new OnboardingError("CHIP_ERROR_INVALID_INTEGER_VALUE", `passcode must be an integer, got ${passcode}`, field);
    }
    if (passcode < PASSCODE_MIN || passcode > PASSCODE_MAX) {
        throw new OnboardingError(
            "CHIP_ERROR_INVALID_ARGUMENT",
            `passcode ${passcode} is out of range 00000001..99999998`,
            field,
        );
    }
    if (TRIVIAL_PASSCODES.includes(passcode)) {
        throw new OnboardingError(
            "CHIP_ERROR_INVALID_ARGUMENT",
            `passcode ${String(passcode).padStart(8, "0")} is one of the trivial passcodes the Matter spec forbids (5.1.7.1)`,
            field,
        );
    }
}

function assertUint(value: number, bits: number, field: string): void {
    if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** bits) {
        throw new OnboardingError("CHIP_ERROR_INVALID_INTEGER_VALUE", `${field} ${value} does not fit in ${bits} bits`, field);
    }
}

/** VID 0 (unspecified) or 1..0xFFF4; PID 0 only together with VID 0. */
export function assertVendorProduct(vendorId: number, productId: number): void {
    assertUint(vendorId, 16, "vendorId");
    assertUint(productId, 16, "productId");
    if (vendorId > VENDOR_ID_MAX) {
        throw new OnboardingError(
            "CHIP_ERROR_INVALID_ARGUMENT",
            `vendor ID 0x${vendorId.toString(16).toUpperCase()} is not valid (0 or 0x0001..0xFFF4)`,
            "vendorId",
        );
    }
    if (productId === 0 && vendorId !== 0) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", "product ID 0 is only allowed with vendor ID 0", "productId");
    }
}

export function assertDiscriminator(discriminator: number, field = "discriminator"): void {
    assertUint(discriminator, 12, field);
}

export function assertShortDiscriminator(shortDiscriminator: number): void {
    assertUint(shortDiscriminator, 4, "shortDiscriminator");
}

export function assertCommissioningFlow(flow: number): asserts flow is CommissioningFlowValue {
    assertUint(flow, 2, "commissioningFlow");
    if (flow > 2) throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `commissioning flow ${flow} is reserved (0, 1, 2)`, "commissioningFlow");
}

/**
 * `produce` (what a generator may write): only the defined bits 0-4. `consume` (a parser): any 8-bit value, as
 * connectedhomeip's ValidationMode::kConsume accepts bits it does not know yet.
 */
export function assertDiscoveryCapabilities(bits: number, mode: "produce" | "consume"): void {
    assertUint(bits, 8, "discoveryCapabilities");
    if (mode === "produce" && (bits & ~DISCOVERY_CAPABILITIES_KNOWN) !== 0) {
        throw new OnboardingError(
            "CHIP_ERROR_INVALID_ARGUMENT",
            `discovery capabilities 0x${bits.toString(16)} set reserved bits (defined: SoftAP 0, BLE 1, OnNetwork 2, WiFiPAF 3, NFC 4)`,
            "discoveryCapabilities",
        );
    }
}

/** Names of the set discovery capability bits, e.g. ["BLE", "OnNetwork"]; unknown bits as "bit5". */
export function discoveryCapabilityNames(bits: number): string[] {
    const names: string[] = [];
    for (let bit = 0; bit < 8; bit++) {
        if ((bits & (1 << bit)) === 0) continue;
        const known = Object.entries(DiscoveryCapability).find(([, v]) => v === 1 << bit);
        names.push(known ? known[0] : `bit${bit}`);
    }
    return names;
}
