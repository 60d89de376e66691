/**
 * Base38 as the Matter QR code uses it (Matter Core spec 5.1.3.1; connectedhomeip src/setup_payload/Base38*.cpp):
 * alphabet `0-9A-Z-.`, bytes taken little-endian in chunks of 3 → 5 chars, a final 2 → 4 chars, 1 → 2 chars.
 *
 * The decoder is strict like Base38Decode.cpp: a length that leaves 1 or 3 characters, a character outside the
 * alphabet (lower case included) or a chunk whose value does not fit its byte count is an error — so every byte
 * string has exactly one encoding.
 */
import { OnboardingError } from "./errors.js";

export const BASE38_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-.";
const RADIX = 38;
/** Characters per chunk of 1, 2, 3 bytes. */
const CHARS_FOR_BYTES = [0, 2, 4, 5] as const;

const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE38_ALPHABET.length; i++) DECODE[BASE38_ALPHABET.charCodeAt(i)] = i;

export function base38Encode(data: Uint8Array): string {
    let out = "";
    for (let offset = 0; offset < data.length; offset += 3) {
        const n = Math.min(3, data.length - offset);
        let value = 0;
        for (let i = n - 1; i >= 0; i--) value = value * 256 + data[offset + i]!;
        for (let c = 0; c < CHARS_FOR_BYTES[n]!; c++) {
            out += BASE38_ALPHABET[value % RADIX];
            value = Math.floor(value / RADIX);
        }
    }
    return out;
}

/** Length in characters of the base38 encoding of `byteLength` bytes. */
export function base38EncodedLength(byteLength: number): number {
    const rest = byteLength % 3;
    return Math.floor(byteLength / 3) * 5 + CHARS_FOR_BYTES[rest]! * (rest === 0 ? 0 : 1);
}

/**
 * Decodes base38 text; `offset` in errors is the character index (plus `baseOffset`, the position of the text in
 * a larger string such as after `MT:`).
 */
export function base38Decode(text: string, baseOffset = 0): Uint8Array {
    const rest = text.length % 5;
    if (rest === 1 || rest === 3) {
        throw new OnboardingError(
            "CHIP_ERROR_INVALID_STRING_LENGTH",
            `base38 text of ${text.length} characters is not a valid length (chunks of 5, 4 or 2 characters)`,
            undefined,
            baseOffset,
        );
    }
    const out = new Uint8Array(Math.floor(text.length / 5) * 3 + (rest === 4 ? 2 : rest === 2 ? 1 : 0));
    let o = 0;
    for (let pos = 0; pos < text.length; ) {
        const chars = Math.min(5, text.length - pos);
        const bytes = chars === 5 ? 3 : chars === 4 ? 2 : 1;
        let value = 0;
        for (let i = chars - 1; i >= 0; i--) {
            const code = text.charCodeAt(pos + i);
            const digit = code < 128 ? DECODE[code]! : -1;
            if (digit < 0) {
                throw new OnboardingError(
                    "CHIP_ERROR_INVALID_INTEGER_VALUE",
                    `invalid base38 character ${JSON.stringify(text[pos + i])} (allowed: 0-9 A-Z - .)`,
                    undefined,
                    baseOffset + pos + i,
                );
            }
            value = value * RADIX + digit;
        }
        if (value >= 2 ** (8 * bytes)) {
            throw new OnboardingError(
                "CHIP_ERROR_INVALID_ARGUMENT",
                `base38 chunk ${JSON.stringify(text.slice(pos, pos + chars))} is too large for ${bytes} byte(s)`,
                undefined,
                baseOffset + pos,
            );
        }
        for (let b = 0; b < bytes; b++) {
            out[o++] = value & 0xff;
            value = Math.floor(value / 256);
        }
        pos += chars;
    }
    return out;
}
