/**
 * The Matter manual pairing code (Matter Core spec 5.1.4): 11 digits, or 21 when the commissioning flow is not
 * Standard (VID and PID appended as 5 digits each); the last digit is a Verhoeff check digit.
 *   digit 1      = (vid_pid_present << 2) | (short_discriminator >> 2)
 *   digits 2-6   = ((short_discriminator & 3) << 14) | (passcode & 0x3FFF)
 *   digits 7-10  = passcode >> 14
 */
import { OnboardingError } from "./errors.js";
import {
    assertCommissioningFlow,
    assertDiscriminator,
    assertShortDiscriminator,
    assertValidPasscode,
    assertVendorProduct,
} from "./rules.js";
import { verhoeffCheckDigit, verhoeffValid } from "./verhoeff.js";

export interface ManualCodeInput {
    passcode: number;
    /** The 12-bit discriminator (its top 4 bits are used), or give shortDiscriminator instead. */
    discriminator?: number;
    shortDiscriminator?: number;
    /** 0 → 11 digits; 1 or 2 → 21 digits with VID/PID. */
    commissioningFlow?: number;
    vendorId?: number;
    productId?: number;
}

export interface ManualCode {
    /** 4-bit short discriminator (the top 4 bits of the 12-bit discriminator). */
    shortDiscriminator: number;
    passcode: number;
    /** True for a 21-digit code. */
    vidPidPresent: boolean;
    /** null in an 11-digit code. */
    vendorId: number | null;
    productId: number | null;
    /** As connectedhomeip reports it: Custom (2) when VID/PID are present, Standard (0) otherwise. */
    commissioningFlow: 0 | 2;
    /** The digits without separators. */
    digits: string;
}

export function encodeManualCode(input: ManualCodeInput): string {
    const flow = input.commissioningFlow ?? 0;
    assertCommissioningFlow(flow);
    assertValidPasscode(input.passcode);
    let short: number;
    if (input.discriminator !== undefined) {
        assertDiscriminator(input.discriminator);
        short = input.discriminator >> 8;
        if (input.shortDiscriminator !== undefined && input.shortDiscriminator !== short) {
            throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", "discriminator and shortDiscriminator disagree", "shortDiscriminator");
        }
    } else if (input.shortDiscriminator !== undefined) {
        assertShortDiscriminator(input.shortDiscriminator);
        short = input.shortDiscriminator;
    } else {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", "a discriminator is required", "discriminator");
    }
    const vendorId = input.vendorId ?? 0;
    const productId = input.productId ?? 0;
    assertVendorProduct(vendorId, productId);
    const long = flow !== 0;
    let digits =
        String(((long ? 1 : 0) << 2) | (short >> 2)) +
        String(((short & 3) << 14) | (input.passcode & 0x3fff)).padStart(5, "0") +
        String(input.passcode >>> 14).padStart(4, "0");
    if (long) digits += String(vendorId).padStart(5, "0") + String(productId).padStart(5, "0");
    return digits + String(verhoeffCheckDigit(digits));
}

/** Separators a printed label may use between digit groups. */
const SEPARATORS = /[\s-]/g;

/**
 * Decodes a manual pairing code; dashes and white space (as printed on labels) are ignored, any other
 * non-digit is CHIP_ERROR_INVALID_INTEGER_VALUE. Then: length 11/21, first digit ≤ 7 (8 and 9 mark a future
 * version), Verhoeff check digit, length agrees with the VID/PID flag, VID/PID ≤ 65535, and the payload rules.
 */
export function decodeManualCode(code: string): ManualCode {
    if (typeof code !== "string") throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", "manual code must be a string");
    const digits = code.replace(SEPARATORS, "");
    const bad = /[^0-9]/.exec(digits);
    if (bad) {
        throw new OnboardingError("CHIP_ERROR_INVALID_INTEGER_VALUE", `manual code contains ${JSON.stringify(bad[0])}, not a decimal digit`, undefined, code.indexOf(bad[0]));
    }
    if (digits.length !== 11 && digits.length !== 21) {
        throw new OnboardingError("CHIP_ERROR_INVALID_STRING_LENGTH", `manual code has ${digits.length} digits (11 or 21)`);
    }
    const first = digits.charCodeAt(0) - 48;
    if (first > 7) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `manual code first digit ${first} marks an unsupported version (0..7)`);
    }
    if (!verhoeffValid(digits)) {
        throw new OnboardingError("CHIP_ERROR_INTEGRITY_CHECK_FAILED", `manual code check digit ${digits[digits.length - 1]} is wrong (Verhoeff; expected ${verhoeffCheckDigit(digits.slice(0, -1))})`);
    }
    const vidPidPresent = (first & 4) !== 0;
    if (digits.length !== (vidPidPresent ? 21 : 11)) {
        throw new OnboardingError(
            "CHIP_ERROR_INVALID_STRING_LENGTH",
            `manual code of ${digits.length} digits but its first digit says ${vidPidPresent ? "VID/PID present (21 digits)" : "no VID/PID (11 digits)"}`,
        );
    }
    const chunk2 = Number(digits.slice(1, 6));
    const chunk3 = Number(digits.slice(6, 10));
    const shortDiscriminator = ((first & 3) << 2) | ((chunk2 >> 14) & 3);
    if (chunk2 >= 1 << 16 || chunk3 >= 1 << 13) {
        throw new OnboardingError("CHIP_ERROR_INVALID_INTEGER_VALUE", `manual code digit group ${chunk2 >= 1 << 16 ? chunk2 : chunk3} does not fit its bit field`);
    }
    const passcode = (chunk2 & 0x3fff) | (chunk3 << 14);
    let vendorId: number | null = null;
    let productId: number | null = null;
    if (vidPidPresent) {
        vendorId = Number(digits.slice(10, 15));
        productId = Number(digits.slice(15, 20));
        if (vendorId > 0xffff || productId > 0xffff) {
            throw new OnboardingError("CHIP_ERROR_INVALID_INTEGER_VALUE", `manual code ${vendorId > 0xffff ? "vendor" : "product"} ID ${vendorId > 0xffff ? vendorId : productId} exceeds 65535`);
        }
        assertVendorProduct(vendorId, productId);
    }
    assertValidPasscode(passcode);
    return { shortDiscriminator, passcode, vidPidPresent, vendorId, productId, commissioningFlow: vidPidPresent ? 2 : 0, digits };
}

/** Formats the digits in groups as printed on labels: 4-3-4 (11 digits) or 4-3-4-5-5 (21). */
export function formatManualCode(digits: string): string {
    const groups = digits.length === 21 ? [4, 3, 4, 5, 5] : [4, 3, 4];
    const out: string[] = [];
    let pos = 0;
    for (const g of groups) {
        out.push(digits.slice(pos, pos + g));
        pos += g;
    }
    return out.join("-");
}
