/**
 * Speed paths for the batch (each checked against the reference module in fastcrypto.test.ts):
 * - `encryptNvsImage`: NVS AES-256-XTS with two AES-ECB passes over the whole image instead of one cipher
 *   object per 32-byte entry (same bytes as emulator/nvs encryptImage).
 * - `fastKey`: a P-256 key through OpenSSL's ECDH (private scalar → public point) instead of a JS multiply.
 */
import { type KeyObject, createCipheriv, createECDH, createPrivateKey } from "node:crypto";
import { encryptImage, type NvsKeys } from "../../emulator/nvs/index.js";
import { type P256Key, pkcs8Der } from "../pki/keys.js";

const PAGE = 4096;
const FIRST = 64;
const ENTRY = 32;
const PER_PAGE = 126;

function ecb(key: Uint8Array, data: Buffer): Buffer {
    const c = createCipheriv("aes-256-ecb", key, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(data), c.final()]);
}

/** Encrypts every non-empty entry (bitmap state ≠ 11) like emulator/nvs encryptImage, in two AES passes. */
export function encryptNvsImage(image: Uint8Array, keys: NvsKeys, inPlace = false): Uint8Array {
    if (Buffer.compare(Buffer.from(keys.eky), Buffer.from(keys.tky)) === 0) return encryptImage(image, keys); // let it refuse
    const offsets: number[] = [];
    for (let p = 0; p + PAGE <= image.length; p += PAGE) {
        for (let i = 0; i < PER_PAGE; i++) {
            const state = (image[p + 32 + (i >> 2)]! >> ((i & 3) * 2)) & 3;
            if (state !== 3) offsets.push(p + FIRST + i * ENTRY);
        }
    }
    const out = inPlace ? Buffer.from(image.buffer, image.byteOffset, image.byteLength) : Buffer.from(image);
    if (offsets.length === 0) return inPlace ? image : new Uint8Array(out);
    const tweakIn = Buffer.alloc(16 * offsets.length);
    offsets.forEach((off, k) => {
        // 16-byte little-endian offset (offsets < 2^32)
        tweakIn.writeUInt32LE(off >>> 0, 16 * k);
    });
    const t0 = ecb(keys.tky, tweakIn);
    // T for both blocks of each entry: T0 and T0·α in GF(2^128) (little-endian, x^128 + x^7 + x^2 + x + 1)
    const t = Buffer.alloc(32 * offsets.length);
    for (let k = 0; k < offsets.length; k++) {
        const src = 16 * k;
        const dst = 32 * k;
        t0.copy(t, dst, src, src + 16);
        let carry = 0;
        for (let b = 0; b < 16; b++) {
            const v = t0[src + b]!;
            t[dst + 16 + b] = ((v << 1) | carry) & 0xff;
            carry = v >> 7;
        }
        if (carry) t[dst + 16] = t[dst + 16]! ^ 0x87;
    }
    const x = Buffer.alloc(32 * offsets.length);
    offsets.forEach((off, k) => {
        for (let b = 0; b < 32; b++) x[32 * k + b] = out[off + b]! ^ t[32 * k + b]!;
    });
    const y = ecb(keys.eky, x);
    offsets.forEach((off, k) => {
        for (let b = 0; b < 32; b++) out[off + b] = y[32 * k + b]! ^ t[32 * k + b]!;
    });
    return inPlace ? image : new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** A P-256 key from a scalar (or a fresh one) with OpenSSL doing the point multiplication. */
export function fastKey(scalar?: Uint8Array): P256Key {
    const ecdh = createECDH("prime256v1");
    if (scalar) ecdh.setPrivateKey(scalar);
    else ecdh.generateKeys();
    const priv = ecdh.getPrivateKey();
    const privateKey = new Uint8Array(32);
    privateKey.set(priv, 32 - priv.length);
    const publicKey = new Uint8Array(ecdh.getPublicKey());
    // The KeyObject is only needed to sign with this key (a DAC never signs here): made on first use.
    let keyObject: KeyObject | undefined;
    return {
        privateKey,
        publicKey,
        get keyObject(): KeyObject {
            return (keyObject ??= createPrivateKey({ key: Buffer.from(pkcs8Der({ privateKey, publicKey })), format: "der", type: "pkcs8" }));
        },
    };
}
