/**
 * Flash encryption as the hardware does it and espsecure reproduces it (espsecure `_flash_encryption_operation_aes_xts`,
 * `_flash_encryption_operation_esp32`, `_load_hardware_key`):
 *
 * - XTS-AES-128/256 (S2/S3/C3/C6/H2…): 128-byte data units; tweak = LE32(unit address) ‖ 12×00;
 *   C_unit = reverse(XTS-Enc(key, tweak, reverse(P_unit))). Blocks are independent, so any 16-byte aligned span works.
 * - Original ESP32 AES-256: per 16-byte block, the key is XOR-tweaked from the 32-byte block address under
 *   FLASH_CRYPT_CONFIG; the hardware "encrypts" with AES *decryption* on byte-reversed blocks.
 */
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import { DiagnosticError, EspError } from "../esp_common/err.js";

export type FlashCipherScheme = "xts-aes-128" | "xts-aes-256" | "esp32-aes256";

export interface FlashCipher {
    readonly scheme: FlashCipherScheme;
    /** Plaintext → flash bytes at `address` (16-byte aligned address and length). */
    encrypt(address: number, data: Uint8Array): Uint8Array;
    /** Flash bytes at `address` → plaintext. */
    decrypt(address: number, data: Uint8Array): Uint8Array;
}

export class FlashCryptError extends DiagnosticError {
    override name = "FlashCryptError";
}

function reverse(b: Uint8Array): Uint8Array {
    const out = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) out[i] = b[b.length - 1 - i]!;
    return out;
}

function checkSpan(address: number, data: Uint8Array): void {
    if (!Number.isSafeInteger(address) || address < 0 || address > 0xffffffff) {
        throw new FlashCryptError("ESP_ERR_INVALID_ARG", `flash address ${address} out of range`);
    }
    if (address % 16 !== 0) {
        throw new FlashCryptError("ESP_ERR_INVALID_ARG", `Starting flash address 0x${address.toString(16)} must be a multiple of 16`, { offset: address });
    }
    if (data.length % 16 !== 0) {
        throw new FlashCryptError("ESP_ERR_INVALID_SIZE", `Input data length (${data.length}) must be a multiple of 16`);
    }
}

// ---- XTS-AES ---------------------------------------------------------------------------------------------

function ecb(key: Uint8Array, decrypt: boolean) {
    const alg = `aes-${key.length * 8}-ecb`;
    const c = decrypt ? createDecipheriv(alg, key, null) : createCipheriv(alg, key, null);
    c.setAutoPadding(false);
    return c;
}

/** Plain IEEE 1619 XTS over whole 16-byte blocks (no ciphertext stealing), built on AES-ECB. */
export function xtsRaw(key: Uint8Array, tweak: Uint8Array, data: Uint8Array, decrypt: boolean): Uint8Array {
    const half = key.length / 2;
    const k1 = key.subarray(0, half);
    const k2 = key.subarray(half);
    const t = new Uint8Array(ecb(k2, false).update(tweak));
    const masks = new Uint8Array(data.length);
    for (let j = 0; j < data.length; j += 16) {
        masks.set(t, j);
        // multiply T by alpha in GF(2^128), little-endian byte order
        let carry = 0;
        for (let i = 0; i < 16; i++) {
            const b = t[i]!;
            t[i] = ((b << 1) | carry) & 0xff;
            carry = b >>> 7;
        }
        if (carry) t[0]! ^= 0x87;
    }
    const x = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) x[i] = data[i]! ^ masks[i]!;
    const y = new Uint8Array(ecb(k1, decrypt).update(x));
    for (let i = 0; i < y.length; i++) y[i]! ^= masks[i]!;
    return y;
}

function xtsUnit(key: Uint8Array, tweak: Uint8Array, data: Uint8Array, decrypt: boolean, native: boolean): Uint8Array {
    if (native) {
        const alg = key.length === 64 ? "aes-256-xts" : "aes-128-xts";
        try {
            const c = decrypt ? createDecipheriv(alg, key, tweak) : createCipheriv(alg, key, tweak);
            const out = Buffer.concat([c.update(data), c.final()]);
            return new Uint8Array(out.buffer, out.byteOffset, out.length);
        } catch {
            // OpenSSL refuses keys whose two halves are equal ("xts duplicated keys"); the hardware does not care.
        }
    }
    return xtsRaw(key, tweak, data, decrypt);
}

/** XTS-AES flash operation (espsecure encrypt/decrypt-flash-data --aes-xts). `key` is 32 (XTS-128) or 64 (XTS-256) bytes. */
export function xtsFlashCrypt(key: Uint8Array, address: number, data: Uint8Array, decrypt: boolean, options: { native?: boolean } = {}): Uint8Array {
    if (key.length !== 32 && key.length !== 64) {
        throw new FlashCryptError("ESP_ERR_INVALID_ARG", `XTS-AES key must be 32 (XTS-AES-128) or 64 (XTS-AES-256) bytes, got ${key.length}`);
    }
    checkSpan(address, data);
    const native = options.native ?? true;
    const out = new Uint8Array(data.length);
    const start = address - (address % 0x80);
    const end = address + data.length;
    const unit = new Uint8Array(0x80);
    const tweak = new Uint8Array(16);
    for (let u = start; u < end; u += 0x80) {
        unit.fill(0);
        const from = Math.max(u, address);
        const to = Math.min(u + 0x80, end);
        unit.set(data.subarray(from - address, to - address), from - u);
        new DataView(tweak.buffer).setUint32(0, u >>> 0, true);
        const res = reverse(xtsUnit(key, tweak, reverse(unit), decrypt, native));
        out.set(res.subarray(from - u, to - u), from - address);
    }
    return out;
}

// ---- ESP32 AES-256 with key tweak ------------------------------------------------------------------------

const MUL1 = 0x0000200004000080000004000080001000000200004000080000040000800010n;
const MUL2 = 0x0000000000000000200000000000000010000000000000002000000000000001n;
const MUL2_MASK = 0x000000000000007fe00000000000000ff000000000000007e00000000000000fn;
const MASK256 = (1n << 256n) - 1n;

/** espsecure `_flash_encryption_tweak_range_bits`: which key bits FLASH_CRYPT_CONFIG lets the address tweak. */
export function esp32TweakRange(flashCryptConf: number): bigint {
    let r = 0n;
    if (flashCryptConf & 1) r |= 0xFFFFFFFFFFFFFFFFE00000000000000000000000000000000000000000000000n;
    if (flashCryptConf & 2) r |= 0x00000000000000001FFFFFFFFFFFFFFFF0000000000000000000000000000000n;
    if (flashCryptConf & 4) r |= 0x000000000000000000000000000000000FFFFFFFFFFFFFFFE000000000000000n;
    if (flashCryptConf & 8) r |= 0x0000000000000000000000000000000000000000000000001FFFFFFFFFFFFFFFn;
    return r;
}

/** espsecure `_flash_encryption_tweak_key`: the AES-256 key used for the 32-byte block at `offset`. */
export function esp32TweakKey(key: Uint8Array, offset: number, tweakRange: bigint): Uint8Array {
    let k = BigInt("0x" + Buffer.from(key).toString("hex"));
    const addr = BigInt(offset >>> 5);
    k ^= ((MUL1 * addr) | ((MUL2 * addr) & MUL2_MASK)) & tweakRange;
    k &= MASK256;
    return Uint8Array.from(Buffer.from(k.toString(16).padStart(64, "0"), "hex"));
}

/** ESP32 flash encryption (espsecure encrypt/decrypt-flash-data without --aes-xts). `key` is the 32-byte BLOCK1 key. */
export function esp32FlashCrypt(key: Uint8Array, address: number, data: Uint8Array, decrypt: boolean, flashCryptConf = 0xf): Uint8Array {
    if (key.length !== 32) throw new FlashCryptError("ESP_ERR_INVALID_ARG", `ESP32 flash encryption key must be 32 bytes (192-bit keys extended first), got ${key.length}`);
    if (!Number.isInteger(flashCryptConf) || flashCryptConf < 0 || flashCryptConf > 0xf) {
        throw new FlashCryptError("ESP_ERR_INVALID_ARG", `FLASH_CRYPT_CONFIG must be 0..0xF, got ${flashCryptConf}`);
    }
    checkSpan(address, data);
    const range = esp32TweakRange(flashCryptConf);
    const out = new Uint8Array(data.length);
    let cipher: ReturnType<typeof ecb> | undefined;
    for (let i = 0; i < data.length; i += 16) {
        const offs = address + i;
        if (offs % 32 === 0 || cipher === undefined) {
            // "AES is used inverted for flash encryption": writing flash runs AES decrypt, reading runs encrypt.
            cipher = ecb(esp32TweakKey(key, offs, range), !decrypt);
        }
        const block = reverse(data.subarray(i, i + 16));
        out.set(reverse(new Uint8Array(cipher.update(block))), i);
    }
    return out;
}

// ---- keys and the espsecure-style entry points -----------------------------------------------------------

/**
 * espsecure `_load_hardware_key` for flash encryption: XTS takes 16 (extended to 32 by SHA-256), 32 or 64 bytes;
 * the ESP32 scheme takes 24 (3/4 coding: key + key[8:16]) or 32 bytes.
 */
export function loadFlashEncryptionKey(raw: Uint8Array, aesXts: boolean): Uint8Array {
    if (aesXts) {
        if (raw.length === 16) return new Uint8Array(createHash("sha256").update(raw).digest());
        if (raw.length === 32 || raw.length === 64) return new Uint8Array(raw);
        throw new FlashCryptError("ESP_ERR_INVALID_ARG", `AES_XTS supports only 128, 256, and 512-bit keys. Provided key is ${raw.length * 8} bits.`, { field: "keyfile" });
    }
    if (raw.length === 24) {
        const k = new Uint8Array(32);
        k.set(raw);
        k.set(raw.subarray(8, 16), 24);
        return k;
    }
    if (raw.length === 32) return new Uint8Array(raw);
    throw new FlashCryptError("ESP_ERR_INVALID_ARG", `ESP32 supports only 192 and 256-bit keys. Provided key is ${raw.length * 8} bits. Use --aes-xts for other chips.`, {
        field: "keyfile",
    });
}

/** A FlashCipher for a loaded key. */
export function flashCipher(key: Uint8Array, aesXts: boolean, flashCryptConf = 0xf): FlashCipher {
    if (aesXts) {
        if (key.length !== 32 && key.length !== 64) throw new EspError("ESP_ERR_INVALID_ARG", `XTS-AES key must be 32 or 64 bytes, got ${key.length}`);
        const k = new Uint8Array(key);
        return {
            scheme: k.length === 64 ? "xts-aes-256" : "xts-aes-128",
            encrypt: (a, d) => xtsFlashCrypt(k, a, d, false),
            decrypt: (a, d) => xtsFlashCrypt(k, a, d, true),
        };
    }
    const k = new Uint8Array(key);
    if (k.length !== 32) throw new EspError("ESP_ERR_INVALID_ARG", `ESP32 flash encryption key must be 32 bytes, got ${k.length}`);
    return {
        scheme: "esp32-aes256",
        encrypt: (a, d) => esp32FlashCrypt(k, a, d, false, flashCryptConf),
        decrypt: (a, d) => esp32FlashCrypt(k, a, d, true, flashCryptConf),
    };
}

export interface FlashDataOptions {
    aesXts?: boolean;
    flashCryptConf?: number;
}

/** espsecure encrypt_flash_data: `rawKey` as in the key file. */
export function encryptFlashData(rawKey: Uint8Array, address: number, plaintext: Uint8Array, options: FlashDataOptions = {}): Uint8Array {
    const aesXts = options.aesXts ?? false;
    if (plaintext.length === 0) throw new FlashCryptError("ESP_ERR_INVALID_SIZE", "Input data must be longer than 0");
    return flashCipher(loadFlashEncryptionKey(rawKey, aesXts), aesXts, options.flashCryptConf).encrypt(address, plaintext);
}

/** espsecure decrypt_flash_data. */
export function decryptFlashData(rawKey: Uint8Array, address: number, ciphertext: Uint8Array, options: FlashDataOptions = {}): Uint8Array {
    const aesXts = options.aesXts ?? false;
    if (ciphertext.length === 0) throw new FlashCryptError("ESP_ERR_INVALID_SIZE", "Input data must be longer than 0");
    return flashCipher(loadFlashEncryptionKey(rawKey, aesXts), aesXts, options.flashCryptConf).decrypt(address, ciphertext);
}
