/**
 * Secure Boot V2 signature sectors (espsecure sign_data/verify_signature --version 2, ESP-IDF
 * secure_boot_signatures_bootloader.c and the ROM's ets_secure_boot_verify_signature).
 *
 * A signed app = image padded with 0xFF to a 4 KiB multiple, then one 4 KiB sector holding up to three
 * 1216-byte signature blocks (rest 0xFF). Block: 0 magic 0xE7 | 1 version (0x02 RSA-3072-PSS, 0x03 ECDSA) |
 * 2 ECDSA SHA version | 4 image digest | key material | signature | 1196 CRC32 (zlib.crc32 of bytes 0..1195) |
 * 1200 16 zero bytes. The eFuse key digest is SHA-256 of the key material (RSA bytes 36..811 = n, e, rinv,
 * M'; ECDSA-SHA256 bytes 36..100 = curve id, X‖Y little-endian; ECDSA-SHA384 bytes 52..148).
 */
import { constants, createPrivateKey, createPublicKey, type KeyObject, privateEncrypt, randomBytes } from "node:crypto";
import { createHash } from "node:crypto";
import { p256, p384 } from "@noble/curves/nist.js";
import { DiagnosticError } from "../esp_common/err.js";
import { crc32le } from "../esp_rom/crc.js";
import { concatBytes } from "../esp_common/bytes.js";

export const SECTOR_SIZE = 4096;
export const SIG_BLOCK_SIZE = 1216;
export const SIG_BLOCK_MAGIC = 0xe7;
export const SIG_BLOCK_VERSION_RSA = 0x02;
export const SIG_BLOCK_VERSION_ECDSA = 0x03;
export const SIG_BLOCK_MAX_COUNT = 3;
export const ECDSA_SHA_256 = 0;
export const ECDSA_SHA_384 = 1;
export const CURVE_ID_P192 = 1;
export const CURVE_ID_P256 = 2;
export const CURVE_ID_P384 = 3;
const CRC_OFFSET = 1196;
const RSA_BYTES = 384;

export type SignatureScheme = "RSA-3072" | "ECDSA-P192" | "ECDSA-P256" | "ECDSA-P384" | "ECDSA-unknown";

/** A signature block whose magic, version and CRC are right (what espsecure calls a valid block). */
export interface SignatureBlock {
    /** 0..2: position in the signature sector */
    index: number;
    version: number;
    scheme: SignatureScheme;
    imageDigest: Uint8Array;
    /** The bytes the eFuse digest covers. */
    keyMaterial: Uint8Array;
    /** SHA-256(keyMaterial): what espsecure digest_sbv2_public_key writes and the eFuse holds. */
    keyDigest: Uint8Array;
    raw: Uint8Array;
}

/** Why a block slot is not a valid block, or undefined when it is. */
export function signatureBlockProblem(raw: Uint8Array): string | undefined {
    if (raw.length < SIG_BLOCK_SIZE) return "truncated";
    if (raw.subarray(0, SIG_BLOCK_SIZE).every(b => b === 0xff)) return "empty (erased)";
    if (raw[0] !== SIG_BLOCK_MAGIC) return `invalid magic byte 0x${raw[0]!.toString(16).padStart(2, "0")}`;
    if (raw[1] !== SIG_BLOCK_VERSION_RSA && raw[1] !== SIG_BLOCK_VERSION_ECDSA) return `unsupported block version 0x${raw[1]!.toString(16)}`;
    const stored = new DataView(raw.buffer, raw.byteOffset + CRC_OFFSET, 4).getUint32(0, true);
    const calc = crc32le(0, raw.subarray(0, CRC_OFFSET));
    if (stored !== calc) return `CRC mismatch (stored 0x${stored.toString(16)}, calculated 0x${calc.toString(16)})`;
    return undefined;
}

/** Decodes one 1216-byte block; undefined when magic/version/CRC are wrong (see signatureBlockProblem). */
export function parseSignatureBlock(raw: Uint8Array, index = 0): SignatureBlock | undefined {
    if (signatureBlockProblem(raw) !== undefined) return undefined;
    const block = raw.slice(0, SIG_BLOCK_SIZE);
    const version = block[1]!;
    let scheme: SignatureScheme;
    let imageDigest: Uint8Array;
    let keyMaterial: Uint8Array;
    if (version === SIG_BLOCK_VERSION_RSA) {
        scheme = "RSA-3072";
        imageDigest = block.slice(4, 36);
        keyMaterial = block.slice(36, 812);
    } else if (block[2] === ECDSA_SHA_384) {
        scheme = block[52] === CURVE_ID_P384 ? "ECDSA-P384" : "ECDSA-unknown";
        imageDigest = block.slice(4, 52);
        keyMaterial = block.slice(52, 149);
    } else {
        const curve = block[36];
        scheme = curve === CURVE_ID_P256 ? "ECDSA-P256" : curve === CURVE_ID_P192 ? "ECDSA-P192" : "ECDSA-unknown";
        imageDigest = block.slice(4, 36);
        keyMaterial = block.slice(36, 101);
    }
    return { index, version, scheme, imageDigest, keyMaterial, keyDigest: sha256(keyMaterial), raw: block };
}

/** The valid blocks among the three slots of a 4 KiB signature sector. */
export function parseSignatureSector(sector: Uint8Array): SignatureBlock[] {
    const out: SignatureBlock[] = [];
    for (let i = 0; i < SIG_BLOCK_MAX_COUNT; i++) {
        const at = i * SIG_BLOCK_SIZE;
        if (sector.length < at + SIG_BLOCK_SIZE) break;
        const b = parseSignatureBlock(sector.subarray(at, at + SIG_BLOCK_SIZE), i);
        if (b) out.push(b);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------- keys

export type SigningKey =
    | { kind: "rsa"; key: KeyObject; n: bigint; e: number }
    | { kind: "ecdsa"; curve: "P-256" | "P-384"; d: Uint8Array; x: Uint8Array; y: Uint8Array };

export type PublicKeyInfo =
    | { kind: "rsa"; n: bigint; e: number }
    | { kind: "ecdsa"; curve: "P-256" | "P-384"; x: Uint8Array; y: Uint8Array };

/** Loads an RSA-3072 or ECDSA P-256/P-384 private key (PEM, PKCS#1/PKCS#8/SEC1) for signing. */
export function loadSigningKey(pem: string | Uint8Array, file?: string): SigningKey {
    let key: KeyObject;
    try {
        key = createPrivateKey({ key: typeof pem === "string" ? pem : Buffer.from(pem), format: "pem" });
    } catch {
        throw new DiagnosticError("ESP_ERR_INVALID_ARG", "not a PEM private key (espsecure expects an RSA-3072 or ECDSA P-256/P-384 private key)", { ...(file ? { file } : {}) });
    }
    const pub = publicKeyInfo(key, file);
    if (pub.kind === "rsa") return { kind: "rsa", key, n: pub.n, e: pub.e };
    const jwk = key.export({ format: "jwk" });
    return { kind: "ecdsa", curve: pub.curve, d: b64u(jwk.d!), x: pub.x, y: pub.y };
}

/** Public numbers of a PEM private or public key (or KeyObject), checked against what Secure Boot V2 supports. */
export function publicKeyInfo(input: string | Uint8Array | KeyObject, file?: string): PublicKeyInfo {
    const where = file ? { file } : {};
    let pub: KeyObject;
    try {
        pub = typeof input === "object" && "type" in input && !(input instanceof Uint8Array)
            ? createPublicKey(input)
            : createPublicKey({ key: typeof input === "string" ? input : Buffer.from(input), format: "pem" });
    } catch {
        throw new DiagnosticError("ESP_ERR_INVALID_ARG", "Verification key does not appear to be an RSA or ECDSA private or public key in PEM format", where);
    }
    const jwk = pub.export({ format: "jwk" });
    if (jwk.kty === "RSA") {
        const n = bytesToBigInt(b64u(jwk.n!));
        const bits = n.toString(2).length;
        if (bits !== 3072) throw new DiagnosticError("ESP_ERR_INVALID_ARG", `Key file has length ${bits} bits. Secure boot v2 only supports RSA-3072.`, where);
        const e = Number(bytesToBigInt(b64u(jwk.e!)));
        if (!Number.isSafeInteger(e) || e > 0xffffffff) throw new DiagnosticError("ESP_ERR_INVALID_ARG", "RSA public exponent does not fit in 32 bits", where);
        return { kind: "rsa", n, e };
    }
    if (jwk.kty === "EC" && (jwk.crv === "P-256" || jwk.crv === "P-384")) {
        return { kind: "ecdsa", curve: jwk.crv, x: b64u(jwk.x!), y: b64u(jwk.y!) };
    }
    throw new DiagnosticError("ESP_ERR_INVALID_ARG", `unsupported key (${jwk.kty}${jwk.crv ? " " + jwk.crv : ""}): Secure Boot V2 signing here supports RSA-3072, ECDSA P-256 and P-384`, where);
}

/** The bytes of a block the eFuse digest covers, for this public key (espsecure _digest_sbv2_public_key). */
export function keyMaterial(pub: PublicKeyInfo): Uint8Array {
    if (pub.kind === "rsa") {
        const out = new Uint8Array(776);
        const v = new DataView(out.buffer);
        out.set(bigIntToLE(pub.n, RSA_BYTES), 0);
        v.setUint32(384, pub.e, true);
        out.set(bigIntToLE(rsaRinv(pub.n), RSA_BYTES), 388);
        v.setUint32(772, rsaMdash(pub.n), true);
        return out;
    }
    const len = pub.curve === "P-256" ? 32 : 48;
    const out = new Uint8Array(1 + 2 * len);
    out[0] = pub.curve === "P-256" ? CURVE_ID_P256 : CURVE_ID_P384;
    out.set(reverse(pub.x), 1);
    out.set(reverse(pub.y), 1 + len);
    return out;
}

/** espsecure digest_sbv2_public_key: the 32 bytes to burn into a SECURE_BOOT_DIGESTn eFuse key block. */
export function keyDigest(pub: PublicKeyInfo): Uint8Array {
    return sha256(keyMaterial(pub));
}

/** R^-1 term the ROM's Montgomery multiplier wants: (2^(2*3072)) mod n (espsecure _get_sbv2_rsa_primitives). */
export function rsaRinv(n: bigint): bigint {
    return (1n << 6144n) % n;
}

/** M' = -n^-1 mod 2^32. */
export function rsaMdash(n: bigint): number {
    const m = 1n << 32n;
    let x = 1n;
    for (let i = 0; i < 6; i++) x = (x * (2n - ((n * x) % m))) % m; // Newton: doubles the correct bits each round
    x = ((x % m) + m) % m;
    return Number((m - x) % m);
}

// ---------------------------------------------------------------------------------------------- signing

export interface SignOptions {
    /** espsecure --append-signatures: keep the valid blocks of an already signed (4 KiB aligned) input. */
    appendSignatures?: boolean;
    /** RSA-PSS salt (32 bytes). Default random, like espsecure; fixed only for reproducible test vectors. */
    rsaSalt?: Uint8Array;
}

/**
 * espsecure sign_data --version 2: pads `data` with 0xFF to a 4 KiB multiple (or, with appendSignatures on an
 * aligned input whose last sector holds valid blocks, strips that sector and keeps its blocks), signs
 * SHA-256 of the content with each key and appends the signature sector.
 *
 * One deliberate difference: an aligned input whose last sector already holds valid blocks is refused
 * without appendSignatures (espsecure would sign the old sector as if it were image data, which no
 * bootloader accepts).
 */
export function signImage(data: Uint8Array, keys: SigningKey[], options: SignOptions = {}): Uint8Array {
    if (keys.length === 0) throw new DiagnosticError("ESP_ERR_INVALID_ARG", "no signing key given");
    let contents = data;
    let existing: Uint8Array[] = [];
    if (data.length % SECTOR_SIZE !== 0) {
        contents = new Uint8Array(data.length + (SECTOR_SIZE - (data.length % SECTOR_SIZE))).fill(0xff);
        contents.set(data);
    } else if (data.length >= SECTOR_SIZE) {
        const sector = data.subarray(data.length - SECTOR_SIZE);
        const present: Uint8Array[] = [];
        for (let i = 0; i < SIG_BLOCK_MAX_COUNT; i++) {
            const raw = sector.subarray(i * SIG_BLOCK_SIZE, (i + 1) * SIG_BLOCK_SIZE);
            if (signatureBlockProblem(raw) !== undefined) break;
            present.push(raw.slice());
        }
        if (present.length > 0) {
            if (!options.appendSignatures) {
                throw new DiagnosticError("ESP_ERR_INVALID_STATE", `input is already signed (${present.length} signature block(s)); use --append-signatures to add one`);
            }
            if (present.length >= SIG_BLOCK_MAX_COUNT) {
                throw new DiagnosticError("ESP_ERR_INVALID_STATE", `Up to ${SIG_BLOCK_MAX_COUNT} signature blocks are supported; the signature sector is full`);
            }
            existing = present;
            contents = data.subarray(0, data.length - SECTOR_SIZE);
        }
    }
    if (existing.length + keys.length > SIG_BLOCK_MAX_COUNT) {
        throw new DiagnosticError("ESP_ERR_INVALID_STATE", `Number of keys (${keys.length}) more than the empty signature blocks (${SIG_BLOCK_MAX_COUNT - existing.length})`);
    }
    const blocks = [...existing, ...keys.map(k => signatureBlockFor(contents, k, options))];
    const sector = new Uint8Array(SECTOR_SIZE).fill(0xff);
    blocks.forEach((b, i) => sector.set(b, i * SIG_BLOCK_SIZE));
    const out = new Uint8Array(contents.length + SECTOR_SIZE);
    out.set(contents);
    out.set(sector, contents.length);
    return out;
}

/** One signature block over `contents` (already padded to 4 KiB). */
export function signatureBlockFor(contents: Uint8Array, key: SigningKey, options: SignOptions = {}): Uint8Array {
    const block = new Uint8Array(SIG_BLOCK_SIZE);
    const v = new DataView(block.buffer);
    block[0] = SIG_BLOCK_MAGIC;
    if (key.kind === "rsa") {
        const digest = sha256(contents);
        const pub: PublicKeyInfo = { kind: "rsa", n: key.n, e: key.e };
        const salt = options.rsaSalt ?? new Uint8Array(randomBytes(32));
        if (salt.length !== 32) throw new DiagnosticError("ESP_ERR_INVALID_ARG", "RSA-PSS salt must be 32 bytes");
        const em = pssEncode(digest, salt, 3071);
        const sig = new Uint8Array(privateEncrypt({ key: key.key, padding: constants.RSA_NO_PADDING }, em));
        block[1] = SIG_BLOCK_VERSION_RSA;
        block.set(digest, 4);
        block.set(keyMaterial(pub), 36);
        block.set(reverse(sig), 812);
    } else {
        const is256 = key.curve === "P-256";
        const digest = is256 ? sha256(contents) : new Uint8Array(createHash("sha384").update(contents).digest());
        const curve = is256 ? p256 : p384;
        // RFC 6979 deterministic nonce, s not normalized (as OpenSSL/cryptography produce it)
        const sig = curve.sign(digest, key.d, { prehash: false, lowS: false, format: "compact" });
        const len = is256 ? 32 : 48;
        const rs = new Uint8Array(2 * len);
        rs.set(reverse(sig.subarray(0, len)), 0);
        rs.set(reverse(sig.subarray(len)), len);
        block[1] = SIG_BLOCK_VERSION_ECDSA;
        block[2] = is256 ? ECDSA_SHA_256 : ECDSA_SHA_384;
        block.set(digest, 4);
        const km = keyMaterial({ kind: "ecdsa", curve: key.curve, x: key.x, y: key.y });
        const at = is256 ? 36 : 52;
        block.set(km, at);
        block.set(rs, at + km.length);
    }
    v.setUint32(CRC_OFFSET, crc32le(0, block.subarray(0, CRC_OFFSET)), true);
    return block;
}

// ---------------------------------------------------------------------------------------------- verifying

/** What the eFuses say: the digests of trusted keys (KEY_PURPOSE SECURE_BOOT_DIGESTn, not revoked). */
export interface SecureBootTrust {
    digests: Uint8Array[];
    /** Digests burned but revoked (SECURE_BOOT_KEY_REVOKEn): named in the reason, never accepted. */
    revokedDigests?: Uint8Array[];
}

export interface BlockCheck {
    index: number;
    ok: boolean;
    reason: string;
    scheme?: SignatureScheme;
    keyDigest?: string;
}

export interface SignatureCheck {
    valid: boolean;
    /** index of the first block that verified, or null */
    block: number | null;
    reason: string;
    blocks: BlockCheck[];
}

/**
 * Checks a 4 KiB signature sector against the digest of the (padded) image, as the bootloader does: a block
 * counts when magic and CRC are right, its image digest matches, its key digest is a trusted, non-revoked
 * eFuse digest and the signature verifies; one good block suffices. `imageDigest` is SHA-256 of the padded
 * image (SHA-384 is computed on demand from `paddedImage` for P-384 blocks when given).
 */
export function checkSignatureSector(sector: Uint8Array, imageDigest: Uint8Array, trust: SecureBootTrust, paddedImage?: Uint8Array): SignatureCheck {
    const blocks: BlockCheck[] = [];
    let sha384: Uint8Array | undefined;
    for (let i = 0; i < SIG_BLOCK_MAX_COUNT; i++) {
        const raw = sector.subarray(i * SIG_BLOCK_SIZE, (i + 1) * SIG_BLOCK_SIZE);
        const problem = signatureBlockProblem(raw);
        if (problem !== undefined) {
            blocks.push({ index: i, ok: false, reason: problem });
            continue;
        }
        const b = parseSignatureBlock(raw, i)!;
        const base = { index: i, scheme: b.scheme, keyDigest: hex(b.keyDigest) };
        let expected = imageDigest;
        if (b.imageDigest.length === 48) {
            if (!paddedImage) {
                blocks.push({ ...base, ok: false, reason: "SHA-384 block needs the image to check its digest" });
                continue;
            }
            expected = sha384 ??= new Uint8Array(createHash("sha384").update(paddedImage).digest());
        }
        if (!equal(b.imageDigest, expected)) {
            blocks.push({ ...base, ok: false, reason: "image digest mismatch (block signs a different image)" });
            continue;
        }
        if ((trust.revokedDigests ?? []).some(d => digestMatches(d, b.keyDigest))) {
            blocks.push({ ...base, ok: false, reason: "key digest is revoked in eFuse" });
            continue;
        }
        if (!trust.digests.some(d => digestMatches(d, b.keyDigest))) {
            blocks.push({ ...base, ok: false, reason: "key digest does not match any trusted eFuse digest" });
            continue;
        }
        const sigProblem = verifyBlockSignature(b, expected);
        blocks.push(sigProblem === undefined ? { ...base, ok: true, reason: "signature verified" } : { ...base, ok: false, reason: sigProblem });
    }
    const good = blocks.find(b => b.ok);
    if (good) return { valid: true, block: good.index, reason: `signature block ${good.index} verified (${good.scheme})`, blocks };
    const present = blocks.filter(b => !b.reason.startsWith("empty"));
    const reason = present.length === 0
        ? "no signature blocks (signature sector empty)"
        : "no valid signature block: " + present.map(b => `block ${b.index}: ${b.reason}`).join("; ");
    return { valid: false, block: null, reason, blocks };
}

/** Cryptographic check of one block against `digest`; undefined when it verifies, else the reason. */
export function verifyBlockSignature(b: SignatureBlock, digest: Uint8Array): string | undefined {
    const raw = b.raw;
    if (b.scheme === "RSA-3072") {
        const n = leToBigInt(raw.subarray(36, 420));
        const e = BigInt(new DataView(raw.buffer, raw.byteOffset + 420, 4).getUint32(0, true));
        if (n.toString(2).length !== 3072 || (n & 1n) === 0n) return "invalid RSA-3072 modulus";
        if (leToBigInt(raw.subarray(424, 808)) !== rsaRinv(n) || new DataView(raw.buffer, raw.byteOffset + 808, 4).getUint32(0, true) !== rsaMdash(n)) {
            return "invalid RSA key parameters (rinv / M' do not belong to n)";
        }
        const s = leToBigInt(raw.subarray(812, 1196));
        if (s >= n) return "RSA-PSS signature verification failed (signature ≥ modulus)";
        const em = bigIntToBE(modPow(s, e, n), RSA_BYTES);
        return pssVerify(digest, em, 3071) ? undefined : "RSA-PSS signature verification failed";
    }
    if (b.scheme === "ECDSA-P256" || b.scheme === "ECDSA-P384") {
        const len = b.scheme === "ECDSA-P256" ? 32 : 48;
        const at = len === 32 ? 37 : 53;
        const pub = new Uint8Array(1 + 2 * len);
        pub[0] = 4;
        pub.set(reverse(raw.subarray(at, at + len)), 1);
        pub.set(reverse(raw.subarray(at + len, at + 2 * len)), 1 + len);
        const sig = new Uint8Array(2 * len);
        sig.set(reverse(raw.subarray(at + 2 * len, at + 3 * len)), 0);
        sig.set(reverse(raw.subarray(at + 3 * len, at + 4 * len)), len);
        const curve = len === 32 ? p256 : p384;
        try {
            return curve.verify(sig, digest, pub, { prehash: false, lowS: false, format: "compact" }) ? undefined : "ECDSA signature verification failed";
        } catch {
            return "ECDSA signature verification failed (invalid public key or signature encoding)";
        }
    }
    return `${b.scheme} signatures are not supported by this model`;
}

/** eFuse digests compare on their stored length (ESP32-C2 keeps only the first 16 bytes). */
function digestMatches(efuse: Uint8Array, keyDigest: Uint8Array): boolean {
    if (efuse.length !== 32 && efuse.length !== 16) return false;
    return equal(efuse, keyDigest.subarray(0, efuse.length));
}

// ---------------------------------------------------------------------------------------------- RSA-PSS

/** EMSA-PSS-ENCODE (RFC 8017 9.1.1) with SHA-256, MGF1-SHA-256, for a 32-byte message hash. */
export function pssEncode(mHash: Uint8Array, salt: Uint8Array, emBits: number): Uint8Array {
    const emLen = Math.ceil(emBits / 8);
    const h = sha256(concatBytes(new Uint8Array(8), mHash, salt));
    const db = new Uint8Array(emLen - 32 - 1);
    db[db.length - salt.length - 1] = 1;
    db.set(salt, db.length - salt.length);
    const mask = mgf1(h, db.length);
    for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
    db[0]! &= 0xff >> (8 * emLen - emBits);
    const em = new Uint8Array(emLen);
    em.set(db, 0);
    em.set(h, db.length);
    em[emLen - 1] = 0xbc;
    return em;
}

/** EMSA-PSS-VERIFY (RFC 8017 9.1.2), salt length 32. `em` is the big-endian s^e mod n, 384 bytes. */
export function pssVerify(mHash: Uint8Array, em: Uint8Array, emBits: number): boolean {
    const emLen = Math.ceil(emBits / 8);
    const body = em.length === emLen ? em : em.length === emLen + 1 && em[0] === 0 ? em.subarray(1) : undefined;
    if (!body || body[emLen - 1] !== 0xbc) return false;
    const dbLen = emLen - 33;
    const masked = body.subarray(0, dbLen);
    const h = body.subarray(dbLen, dbLen + 32);
    if ((masked[0]! & ~(0xff >> (8 * emLen - emBits)) & 0xff) !== 0) return false;
    const mask = mgf1(h, dbLen);
    const db = new Uint8Array(dbLen);
    for (let i = 0; i < dbLen; i++) db[i] = masked[i]! ^ mask[i]!;
    db[0]! &= 0xff >> (8 * emLen - emBits);
    const saltStart = dbLen - 32;
    for (let i = 0; i < saltStart - 1; i++) if (db[i] !== 0) return false;
    if (db[saltStart - 1] !== 1) return false;
    return equal(sha256(concatBytes(new Uint8Array(8), mHash, db.subarray(saltStart))), h);
}

function mgf1(seed: Uint8Array, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let c = 0, at = 0; at < len; c++, at += 32) {
        const ctr = new Uint8Array([c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff]);
        out.set(sha256(concatBytes(seed, ctr)).subarray(0, Math.min(32, len - at)), at);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------- helpers

function modPow(b: bigint, e: bigint, m: bigint): bigint {
    let r = 1n;
    b %= m;
    while (e > 0n) {
        if (e & 1n) r = (r * b) % m;
        b = (b * b) % m;
        e >>= 1n;
    }
    return r;
}

export function sha256(d: Uint8Array): Uint8Array {
    return new Uint8Array(createHash("sha256").update(d).digest());
}

function b64u(s: string): Uint8Array {
    return new Uint8Array(Buffer.from(s, "base64url"));
}

function bytesToBigInt(be: Uint8Array): bigint {
    return be.length === 0 ? 0n : BigInt("0x" + Buffer.from(be).toString("hex"));
}

function leToBigInt(le: Uint8Array): bigint {
    return bytesToBigInt(reverse(le));
}

function bigIntToBE(n: bigint, len: number): Uint8Array {
    const h = n.toString(16).padStart(len * 2, "0");
    return new Uint8Array(Buffer.from(h.slice(h.length - len * 2), "hex"));
}

function bigIntToLE(n: bigint, len: number): Uint8Array {
    return reverse(bigIntToBE(n, len));
}

function reverse(b: Uint8Array): Uint8Array {
    return Uint8Array.from(b).reverse();
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
    return a.length === b.length && a.every((x, i) => x === b[i]);
}

function hex(b: Uint8Array): string {
    return Buffer.from(b).toString("hex");
}
