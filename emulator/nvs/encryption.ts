/**
 * NVS encryption (ESP-IDF nvs_flash with CONFIG_NVS_ENCRYPTION, nvs_sec_provider): AES-256-XTS per 32-byte
 * entry, the tweak being the entry's offset in the partition as a 16-byte little-endian number; page headers,
 * bitmaps and empty entries stay plaintext. Keys come from the 4096-byte nvs_keys partition
 * (eky ‖ tky ‖ CRC32) or are derived with HMAC-SHA256 from an eFuse HMAC key.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { EspError } from "../esp_common/err.js";
import { espCrc32 } from "../esp_rom/crc.js";
import { BITMAP_OFFSET, ENTRIES_PER_PAGE, ENTRY_SIZE, EntryState, FIRST_ENTRY_OFFSET, PAGE_SIZE } from "./format.js";

/** The XTS keys of one NVS partition: 32-byte encryption key and 32-byte tweak key. */
export interface NvsKeys {
    eky: Uint8Array;
    tky: Uint8Array;
}

export const NVS_KEYS_PARTITION_SIZE = 4096;
const KEY_BYTES = 64;

/** The nvs_keys partition image: eky ‖ tky ‖ CRC32(eky ‖ tky), rest 0xFF. */
export function encodeNvsKeys(keys: NvsKeys): Uint8Array {
    checkKeyLengths(keys);
    const buf = new Uint8Array(NVS_KEYS_PARTITION_SIZE).fill(0xff);
    buf.set(keys.eky, 0);
    buf.set(keys.tky, 32);
    new DataView(buf.buffer).setUint32(KEY_BYTES, espCrc32(buf.subarray(0, KEY_BYTES)), true);
    return buf;
}

/**
 * Reads an nvs_keys partition like nvs_flash_read_security_cfg: all-0xFF → ESP_ERR_NVS_KEYS_NOT_INITIALIZED,
 * CRC mismatch (or too short) → ESP_ERR_NVS_CORRUPT_KEY_PART.
 */
export function decodeNvsKeys(partition: Uint8Array, file?: string): NvsKeys {
    if (partition.length < KEY_BYTES + 4) {
        throw new EspError("ESP_ERR_NVS_CORRUPT_KEY_PART", `nvs_keys partition is ${partition.length} bytes; it needs at least 68 (eky, tky, CRC32)`, { file, offset: 0 });
    }
    if (partition.subarray(0, KEY_BYTES + 4).every(b => b === 0xff)) {
        throw new EspError("ESP_ERR_NVS_KEYS_NOT_INITIALIZED", "nvs_keys partition is erased (all 0xFF): no keys written", { file, offset: 0 });
    }
    const stored = new DataView(partition.buffer, partition.byteOffset, partition.length).getUint32(KEY_BYTES, true);
    const computed = espCrc32(partition.subarray(0, KEY_BYTES));
    if (stored !== computed) {
        throw new EspError(
            "ESP_ERR_NVS_CORRUPT_KEY_PART",
            `nvs_keys CRC32 mismatch (stored 0x${stored.toString(16).padStart(8, "0")}, computed 0x${computed.toString(16).padStart(8, "0")}); ` +
                "is this a key partition, flashed encrypted as the device expects?",
            { file, offset: KEY_BYTES },
        );
    }
    return { eky: partition.slice(0, 32), tky: partition.slice(32, 64) };
}

/** Random XTS keys (nvs_partition_gen generate-key without HMAC). */
export function randomNvsKeys(): NvsKeys {
    return { eky: new Uint8Array(randomBytes(32)), tky: new Uint8Array(randomBytes(32)) };
}

const HMAC_EKEY_SEED = new Uint8Array([0x5a, 0x5a, 0xbe, 0xae]);
const HMAC_TKEY_SEED = new Uint8Array([0xa5, 0xa5, 0xde, 0xce]);

function seed(element: Uint8Array): Uint8Array {
    const s = new Uint8Array(32);
    for (let i = 0; i < 8; i++) s.set(element, i * 4);
    return s;
}

/**
 * The HMAC key-protection scheme: eky = HMAC-SHA256(k, 5A5ABEAE×8), tky = HMAC-SHA256(k, A5A5DECE×8).
 * The eFuse key is 32 bytes; like nvs_partition_gen, any non-empty key file is used as it is.
 */
export function deriveNvsKeysFromHmac(hmacKey: Uint8Array): NvsKeys {
    if (hmacKey.length === 0) {
        throw new EspError("ESP_ERR_INVALID_ARG", "HMAC key file is empty (the eFuse HMAC key is 32 bytes)", { field: "kp_hmac_inputkey" });
    }
    const mac = (data: Uint8Array) => new Uint8Array(createHmac("sha256", hmacKey).update(data).digest());
    return { eky: mac(seed(HMAC_EKEY_SEED)), tky: mac(seed(HMAC_TKEY_SEED)) };
}

function checkKeyLengths(keys: NvsKeys): void {
    if (keys.eky.length !== 32 || keys.tky.length !== 32) {
        throw new EspError("ESP_ERR_NVS_XTS_CFG_FAILED", `XTS keys must be 32 + 32 bytes, got ${keys.eky.length} + ${keys.tky.length}`);
    }
}

function tweakFor(offset: number): Buffer {
    const t = Buffer.alloc(16);
    t.writeUInt32LE(offset >>> 0, 0);
    t.writeUInt32LE(Math.floor(offset / 0x100000000) >>> 0, 4);
    return t;
}

function xts(keys: NvsKeys, offset: number, data: Uint8Array, decrypt: boolean): Uint8Array {
    checkKeyLengths(keys);
    const key = Buffer.concat([keys.eky, keys.tky]);
    try {
        const c = decrypt ? createDecipheriv("aes-256-xts", key, tweakFor(offset)) : createCipheriv("aes-256-xts", key, tweakFor(offset));
        return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
    } catch (e) {
        // OpenSSL refuses an XTS key whose two halves are equal
        throw new EspError(
            decrypt ? "ESP_ERR_NVS_XTS_DECR_FAILED" : "ESP_ERR_NVS_XTS_ENCR_FAILED",
            `AES-XTS failed: ${(e as Error).message}`,
            { offset },
        );
    }
}

/** Encrypts one 32-byte entry that lives at `offset` in the partition. */
export function encryptEntry(keys: NvsKeys, offset: number, plain: Uint8Array): Uint8Array {
    return xts(keys, offset, plain, false);
}

/** Decrypts one 32-byte entry that lives at `offset` in the partition. */
export function decryptEntry(keys: NvsKeys, offset: number, cipher: Uint8Array): Uint8Array {
    return xts(keys, offset, cipher, true);
}

/**
 * Encrypts every non-empty entry (bitmap state ≠ 11) of a plaintext image; headers and bitmaps stay as they are.
 * Same bytes as `encryptEntry` on each entry (a property test checks it), computed as XTS over the whole image in
 * two AES-ECB passes — one for the tweaks, one for the data — instead of one cipher object per 32-byte entry
 * (≈ 10× faster; `generate -e` encrypts every device's partition).
 */
export function encryptImage(image: Uint8Array, keys: NvsKeys): Uint8Array {
    return encryptImageInPlace(image.slice(), keys);
}

/** encryptImage over the caller's own buffer (the generator encrypts the image it has just built). */
export function encryptImageInPlace(image: Uint8Array, keys: NvsKeys): Uint8Array {
    return encryptEntriesInPlace(image, writtenEntryOffsets(image), keys);
}

/** Offsets of the entries encryptImage encrypts: every entry whose bitmap state is not EMPTY (11), in image order. */
export function writtenEntryOffsets(image: Uint8Array): Int32Array {
    const offsets = new Int32Array(Math.floor(image.length / PAGE_SIZE) * ENTRIES_PER_PAGE);
    let n = 0;
    for (let p = 0; p + PAGE_SIZE <= image.length; p += PAGE_SIZE) {
        const bitmap = p + BITMAP_OFFSET;
        for (let i = 0; i < ENTRIES_PER_PAGE; i++) {
            const byte = image[bitmap + (i >> 2)]!;
            if (byte === 0xff) {
                i += 3 - (i & 3); // four empty entries
                continue;
            }
            if (((byte >> ((i & 3) * 2)) & 3) !== EntryState.EMPTY) offsets[n++] = p + FIRST_ENTRY_OFFSET + i * ENTRY_SIZE;
        }
    }
    return offsets.subarray(0, n);
}

/**
 * XTS-encrypts the 32-byte entries at `offsets` in place (writtenEntryOffsets of the image, or of an image of the
 * same layout: layout.ts keeps them per layout), in two AES-ECB passes.
 */
export function encryptEntriesInPlace(image: Uint8Array, offsets: Int32Array, keys: NvsKeys): Uint8Array {
    checkKeyLengths(keys);
    let sameHalves = true;
    for (let i = 0; i < 32 && sameHalves; i++) sameHalves = keys.eky[i] === keys.tky[i];
    if (sameHalves) {
        // as OpenSSL's XTS (and so encryptEntry) does
        throw new EspError("ESP_ERR_NVS_XTS_ENCR_FAILED", "AES-XTS failed: the two key halves are equal");
    }
    const n = offsets.length;
    if (n === 0) return image;
    // the XORs below run on 32-bit words: an unaligned view is worked on in an aligned copy
    const out = image.byteOffset % 4 === 0 ? image : image.slice();
    const { tweakIn, t, x } = xtsWork(n);
    // T0 = AES(tky, LE128(offset)); the entry's second block uses T1 = T0·α in GF(2^128) (x^128 + x^7 + x^2 + x + 1)
    for (let k = 0; k < n; k++) tweakIn[4 * k] = offsets[k]!; // LE128(offset): offsets < 2^32, the other words stay 0 (little-endian host)
    const t0 = ecb(keys.tky, new Uint8Array(tweakIn.buffer, 0, 16 * n));
    const t0v = new DataView(t0.buffer, t0.byteOffset, t0.byteLength);
    for (let k = 0; k < n; k++) {
        // T0 as four little-endian words; T1 = T0 shifted left by one bit across them, reduced by 0x87
        const a0 = t0v.getUint32(16 * k, true), a1 = t0v.getUint32(16 * k + 4, true), a2 = t0v.getUint32(16 * k + 8, true), a3 = t0v.getUint32(16 * k + 12, true);
        const o = 8 * k;
        t[o] = a0;
        t[o + 1] = a1;
        t[o + 2] = a2;
        t[o + 3] = a3;
        t[o + 4] = (a0 << 1) ^ (a3 >>> 31 ? 0x87 : 0);
        t[o + 5] = (a1 << 1) | (a0 >>> 31);
        t[o + 6] = (a2 << 1) | (a1 >>> 31);
        t[o + 7] = (a3 << 1) | (a2 >>> 31);
    }
    const words = new Uint32Array(out.buffer, out.byteOffset, out.byteLength >>> 2);
    for (let k = 0; k < n; k++) {
        const w = offsets[k]! >>> 2;
        for (let j = 0; j < 8; j++) x[8 * k + j] = words[w + j]! ^ t[8 * k + j]!;
    }
    const yb = ecb(keys.eky, new Uint8Array(x.buffer, 0, 32 * n));
    const y = yb.byteOffset % 4 === 0 ? new Uint32Array(yb.buffer, yb.byteOffset, yb.byteLength >>> 2) : new Uint32Array(yb.buffer.slice(yb.byteOffset, yb.byteOffset + yb.byteLength));
    for (let k = 0; k < n; k++) {
        const w = offsets[k]! >>> 2;
        for (let j = 0; j < 8; j++) words[w + j] = y[8 * k + j]! ^ t[8 * k + j]!;
    }
    if (out !== image) image.set(out);
    // the tweaks and the plaintext XOR tweak are secrets of this image: not left in the reused arrays
    t.fill(0, 0, 8 * n);
    x.fill(0, 0, 8 * n);
    return image;
}

/**
 * XTS working arrays for `n` entries, one set per thread, grown when needed: each call making its own three
 * (outside V8's heap above 64 bytes: ≈ 1 µs each) cost more than its XOR loops. Words are host order; Node runs
 * on little-endian hosts only, where they are the LE128 tweak inputs and the LE words the XORs need.
 */
interface XtsWork {
    tweakIn: Uint32Array;
    t: Uint32Array;
    x: Uint32Array;
}
let xtsScratch: XtsWork | undefined;
/** Entries up to which the arrays are kept (a few pages' worth); a larger image gets arrays of its own, not kept. */
const XTS_KEEP_ENTRIES = 4096;
function xtsWork(n: number): XtsWork {
    if (n > XTS_KEEP_ENTRIES) return newXtsWork(n);
    if (!xtsScratch || xtsScratch.t.length < 8 * n) xtsScratch = newXtsWork(Math.max(n, 512));
    return xtsScratch;
}

function newXtsWork(entries: number): XtsWork {
    return { tweakIn: new Uint32Array(4 * entries), t: new Uint32Array(8 * entries), x: new Uint32Array(8 * entries) };
}

function ecb(key: Uint8Array, data: Uint8Array): Buffer {
    const c = createCipheriv("aes-256-ecb", key, null);
    c.setAutoPadding(false);
    const y = c.update(data); // no padding, whole blocks: update returns them all and final() nothing
    c.final();
    return y;
}

/**
 * Decrypts an image like `nvs_partition_gen decrypt`: every entry that is not all 0xFF is decrypted with the
 * tweak of its own offset; headers, bitmaps and blank entries are copied. A trailing partial page is copied.
 */
export function decryptImage(image: Uint8Array, keys: NvsKeys): Uint8Array {
    const out = image.slice();
    for (let p = 0; p + PAGE_SIZE <= out.length; p += PAGE_SIZE) {
        for (let i = 0; i < ENTRIES_PER_PAGE; i++) {
            const off = p + FIRST_ENTRY_OFFSET + i * ENTRY_SIZE;
            const entry = out.subarray(off, off + ENTRY_SIZE);
            if (entry.every(b => b === 0xff)) continue;
            out.set(decryptEntry(keys, off, entry), off);
        }
    }
    return out;
}
