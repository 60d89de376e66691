/**
 * The SPAKE2+ verifier a Matter device stores instead of its passcode (Matter Core spec 3.10; connectedhomeip
 * scripts/tools/spake2p/spake2p.py gen-verifier):
 *   ws = PBKDF2-HMAC-SHA256(passcode as uint32 LE, salt, iterations, 80 bytes)
 *   w0 = int(ws[0:40]) mod n, w1 = int(ws[40:80]) mod n, L = w1·G (65 bytes uncompressed)
 *   verifier = w0 (32 bytes big-endian) ‖ L = 97 bytes
 * Salt 16..32 bytes, iterations 1000..100000, passcode valid per the onboarding rules.
 *
 * Lean on purpose: the mass-manufacturing generator calls this for thousands of devices (in worker threads);
 * the PBKDF2 dominates, the curve part is one native fixed-base multiplication.
 */
import { type ECDH, createECDH, pbkdf2, pbkdf2Sync, timingSafeEqual } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { ownBytes } from "../../emulator/esp_common/bytes.js";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { assertValidPasscode } from "../onboarding/rules.js";

export const SALT_MIN_BYTES = 16;
export const SALT_MAX_BYTES = 32;
export const ITERATIONS_MIN = 1000;
export const ITERATIONS_MAX = 100000;
/** Length of each ws half: the P-256 field size + 8 bytes, so the mod-n reduction is nearly unbiased. */
export const WS_HALF_BYTES = 40;
export const W0_BYTES = 32;
export const L_BYTES = 65;
export const VERIFIER_BYTES = W0_BYTES + L_BYTES;

const Point = p256.Point;
/** The order n of the P-256 group. */
export const P256_N: bigint = Point.Fn.ORDER;

export interface Spake2pVerifier {
    /** 32 bytes big-endian. */
    w0: Uint8Array;
    /** 32 bytes big-endian (the prover's secret; not part of the stored verifier). */
    w1: Uint8Array;
    /** 65 bytes, uncompressed point w1·G. */
    L: Uint8Array;
    /** w0 ‖ L, 97 bytes: what factory data stores (base64). */
    verifier: Uint8Array;
}

/** Throws CHIP_ERROR_INVALID_ARGUMENT for a passcode, salt or iteration count the spec does not allow. */
export function assertVerifierParams(passcode: number, salt: Uint8Array, iterations: number): void {
    assertValidPasscode(passcode, "passcode");
    if (!(salt instanceof Uint8Array) || salt.length < SALT_MIN_BYTES || salt.length > SALT_MAX_BYTES) {
        throw new DiagnosticError(
            "CHIP_ERROR_INVALID_ARGUMENT",
            `SPAKE2+ salt must be ${SALT_MIN_BYTES}..${SALT_MAX_BYTES} bytes, got ${salt instanceof Uint8Array ? salt.length : typeof salt}`,
            { field: "salt" },
        );
    }
    if (!Number.isSafeInteger(iterations) || iterations < ITERATIONS_MIN || iterations > ITERATIONS_MAX) {
        throw new DiagnosticError(
            "CHIP_ERROR_INVALID_ARGUMENT",
            `SPAKE2+ iteration count must be ${ITERATIONS_MIN}..${ITERATIONS_MAX}, got ${iterations}`,
            { field: "iterationCount" },
        );
    }
}

function passcodeBytes(passcode: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(passcode);
    return b;
}

function toBigInt(bytes: Uint8Array): bigint {
    return BigInt("0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex"));
}

function toBytes32(v: bigint): Uint8Array {
    return new Uint8Array(Buffer.from(v.toString(16).padStart(64, "0"), "hex")); // a copy, not Uint8Array.from's element-by-element iteration
}

let fixedBase: ECDH | undefined;

/** w0, w1, L and the verifier from the 80-byte PBKDF2 output ws. */
export function verifierFromWs(ws: Uint8Array): Spake2pVerifier {
    if (ws.length !== 2 * WS_HALF_BYTES) {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `ws must be ${2 * WS_HALF_BYTES} bytes, got ${ws.length}`);
    }
    const w0 = toBigInt(ws.subarray(0, WS_HALF_BYTES)) % P256_N;
    const w1 = toBigInt(ws.subarray(WS_HALF_BYTES)) % P256_N;
    if (w1 === 0n) {
        // Probability ~2^-256; the point at infinity has no encoding.
        throw new DiagnosticError("CHIP_ERROR_INTERNAL", "w1 = 0 mod n: choose another salt");
    }
    // L = w1·G with OpenSSL's fixed-base multiplication (≈ 0.04 ms against ≈ 1 ms in pure JS); the tests check it
    // against @noble/curves and the reference vectors.
    const w1Bytes = toBytes32(w1);
    // one ECDH object per thread: setPrivateKey replaces the key (≈ 10 µs less than a new object per call)
    const ecdh = (fixedBase ??= createECDH("prime256v1"));
    ecdh.setPrivateKey(w1Bytes);
    const L = ownBytes(ecdh.getPublicKey());
    const w0Bytes = toBytes32(w0);
    const verifier = new Uint8Array(VERIFIER_BYTES);
    verifier.set(w0Bytes, 0);
    verifier.set(L, W0_BYTES);
    return { w0: w0Bytes, w1: w1Bytes, L, verifier };
}

/** PBKDF2 step only (exposed for tests and diagnostics). */
export function computeWs(passcode: number, salt: Uint8Array, iterations: number): Uint8Array {
    assertVerifierParams(passcode, salt, iterations);
    return new Uint8Array(pbkdf2Sync(passcodeBytes(passcode), salt, iterations, 2 * WS_HALF_BYTES, "sha256"));
}

/** Synchronous verifier generation (Node's pbkdf2Sync). */
export function generateVerifier(passcode: number, salt: Uint8Array, iterations: number): Spake2pVerifier {
    return verifierFromWs(computeWs(passcode, salt, iterations));
}

/** Asynchronous verifier generation: the PBKDF2 runs on libuv's thread pool. */
export function generateVerifierAsync(passcode: number, salt: Uint8Array, iterations: number): Promise<Spake2pVerifier> {
    try {
        assertVerifierParams(passcode, salt, iterations);
    } catch (e) {
        return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
        pbkdf2(passcodeBytes(passcode), salt, iterations, 2 * WS_HALF_BYTES, "sha256", (err, ws) => {
            if (err) return reject(err);
            try {
                resolve(verifierFromWs(ownBytes(ws)));
            } catch (e) {
                reject(e);
            }
        });
    });
}

export interface ParsedVerifier {
    /** w0 as a scalar, 0 ≤ w0 < n. */
    w0: bigint;
    w0Bytes: Uint8Array;
    /** L, 65 bytes uncompressed, on the curve. */
    L: Uint8Array;
}

/**
 * Parses a stored 97-byte verifier: w0 must be < n and L an uncompressed point on P-256 (not the identity).
 * Errors: CHIP_ERROR_INVALID_ARGUMENT with field "verifier" and the byte offset of the bad part.
 */
export function parseVerifier(bytes: Uint8Array): ParsedVerifier {
    if (!(bytes instanceof Uint8Array) || bytes.length !== VERIFIER_BYTES) {
        throw new DiagnosticError(
            "CHIP_ERROR_INVALID_ARGUMENT",
            `SPAKE2+ verifier must be ${VERIFIER_BYTES} bytes (w0 ‖ L), got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`,
            { field: "verifier" },
        );
    }
    const w0Bytes = bytes.slice(0, W0_BYTES);
    const w0 = toBigInt(w0Bytes);
    if (w0 >= P256_N) {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "verifier w0 is not below the P-256 group order n", { field: "verifier", offset: 0 });
    }
    const L = bytes.slice(W0_BYTES);
    if (L[0] !== 0x04) {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `verifier L must be an uncompressed point (0x04…), starts with 0x${L[0]!.toString(16).padStart(2, "0")}`, { field: "verifier", offset: W0_BYTES });
    }
    try {
        Point.fromBytes(L).assertValidity();
    } catch {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "verifier L is not a point on P-256", { field: "verifier", offset: W0_BYTES });
    }
    return { w0, w0Bytes, L };
}

/**
 * True when `verifier` is the one `passcode`, `salt` and `iterations` produce (recomputes it; constant-time
 * compare). Bad parameters or a malformed verifier throw a DiagnosticError; a well-formed verifier of another
 * passcode returns false.
 */
export function verifyPasscodeAgainstVerifier(passcode: number, salt: Uint8Array, iterations: number, verifier: Uint8Array): boolean {
    parseVerifier(verifier);
    const expected = generateVerifier(passcode, salt, iterations).verifier;
    return timingSafeEqual(expected, verifier);
}

export async function verifyPasscodeAgainstVerifierAsync(passcode: number, salt: Uint8Array, iterations: number, verifier: Uint8Array): Promise<boolean> {
    parseVerifier(verifier);
    const expected = (await generateVerifierAsync(passcode, salt, iterations)).verifier;
    return timingSafeEqual(expected, verifier);
}
