/**
 * The verifier side of SPAKE2+ (draft-bar-cfrg-spake2plus-01, P256-SHA256-HKDF-HMAC, as Matter PASE uses it;
 * connectedhomeip src/crypto/CHIPCryptoPAL.{h,cpp}). Used to check a stored verifier end to end against the
 * reference transcripts, and by tests; the device's real PASE is matter.js's.
 */
import { createHash, createHmac, hkdfSync } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { P256_N } from "./verifier.js";

const Point = p256.Point;
type P256Point = InstanceType<typeof Point>;

/** The SPAKE2+ M and N points for P-256 (uncompressed), from CHIPCryptoPAL.h. */
export const SPAKE2P_M_P256 = Uint8Array.from(
    Buffer.from("04886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f5ff355163e43ce224e0b0e65ff02ac8e5c7be09419c785e0ca547d55a12e2d20", "hex"),
);
export const SPAKE2P_N_P256 = Uint8Array.from(
    Buffer.from("04d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b4907d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe7", "hex"),
);

function point(bytes: Uint8Array, what: string): P256Point {
    try {
        const p = Point.fromBytes(bytes);
        p.assertValidity();
        return p;
    } catch {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `${what} is not a point on P-256`, { field: what });
    }
}

function scalar(bytes: Uint8Array, what: string): bigint {
    const v = BigInt("0x" + (Buffer.from(bytes).toString("hex") || "0"));
    if (v === 0n || v >= P256_N) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `${what} is not in 1..n-1`, { field: what });
    return v;
}

function lenPrefixed(parts: Uint8Array[]): Buffer {
    const chunks: Buffer[] = [];
    for (const p of parts) {
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(p.length));
        chunks.push(len, Buffer.from(p));
    }
    return Buffer.concat(chunks);
}

export interface VerifierRoundInput {
    context: Uint8Array;
    proverIdentity: Uint8Array;
    verifierIdentity: Uint8Array;
    /** w0 (32 bytes) and L (65 bytes), i.e. the stored verifier. */
    w0: Uint8Array;
    L: Uint8Array;
    /** The prover's share X (65 bytes). */
    X: Uint8Array;
    /** The verifier's ephemeral scalar y (32 bytes). */
    y: Uint8Array;
}

export interface VerifierRoundOutput {
    Y: Uint8Array;
    Z: Uint8Array;
    V: Uint8Array;
    Ka: Uint8Array;
    Ke: Uint8Array;
    KcA: Uint8Array;
    KcB: Uint8Array;
    /** HMAC(KcA, Y): what the prover must send. */
    macKcA: Uint8Array;
    /** HMAC(KcB, X): what the verifier sends. */
    macKcB: Uint8Array;
}

/** Y = y·G + w0·N, Z = y·(X − w0·M), V = y·L, TT, Ka ‖ Ke = SHA-256(TT), KcA ‖ KcB = HKDF(Ka, "ConfirmationKeys"). */
export function spake2pVerifierRound(i: VerifierRoundInput): VerifierRoundOutput {
    const w0 = BigInt("0x" + Buffer.from(i.w0).toString("hex")) % P256_N;
    const y = scalar(i.y, "y");
    const M = point(SPAKE2P_M_P256, "M");
    const N = point(SPAKE2P_N_P256, "N");
    const X = point(i.X, "X");
    const L = point(i.L, "L");
    const w0N = w0 === 0n ? Point.ZERO : N.multiply(w0);
    const w0M = w0 === 0n ? Point.ZERO : M.multiply(w0);
    const Y = Point.BASE.multiply(y).add(w0N).toBytes(false);
    const zPoint = X.subtract(w0M);
    if (zPoint.equals(Point.ZERO)) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "X − w0·M is the identity", { field: "X" });
    const Z = zPoint.multiply(y).toBytes(false);
    const V = L.multiply(y).toBytes(false);
    const w0Bytes = Uint8Array.from(Buffer.from(w0.toString(16).padStart(64, "0"), "hex"));
    const tt = lenPrefixed([i.context, i.proverIdentity, i.verifierIdentity, SPAKE2P_M_P256, SPAKE2P_N_P256, i.X, Y, Z, V, w0Bytes]);
    const k = createHash("sha256").update(tt).digest();
    const Ka = k.subarray(0, 16);
    const Ke = k.subarray(16, 32);
    const kc = Buffer.from(hkdfSync("sha256", Ka, Buffer.alloc(0), Buffer.from("ConfirmationKeys"), 32));
    const KcA = kc.subarray(0, 16);
    const KcB = kc.subarray(16, 32);
    const macKcA = createHmac("sha256", KcA).update(Y).digest();
    const macKcB = createHmac("sha256", KcB).update(i.X).digest();
    const u8 = (b: Buffer) => new Uint8Array(b);
    return { Y, Z, V, Ka: u8(Ka), Ke: u8(Ke), KcA: u8(KcA), KcB: u8(KcB), macKcA: u8(macKcA), macKcB: u8(macKcB) };
}
