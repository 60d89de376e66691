/**
 * The SPAKE2+ verifier for a batch: PBKDF2 through Node (the floor of the whole job), then w0 = ws[0:40] mod n
 * and L = w1·G with OpenSSL's scalar multiplication (createECDH), ~20× faster than a JS point multiply.
 * harness/spake2p stays the reference: the tests check both give the same bytes.
 */
import { createECDH, pbkdf2Sync } from "node:crypto";
import { P256_N, assertVerifierParams } from "../spake2p/verifier.js";

function toBigInt(b: Uint8Array): bigint {
    return BigInt("0x" + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex"));
}

function bytes32(v: bigint): Buffer {
    return Buffer.from(v.toString(16).padStart(64, "0"), "hex");
}

/** The 97-byte verifier w0 ‖ L for (passcode, salt, iterations). */
export function computeVerifier(passcode: number, salt: Uint8Array, iterations: number): Uint8Array {
    assertVerifierParams(passcode, salt, iterations);
    const pin = Buffer.alloc(4);
    pin.writeUInt32LE(passcode);
    const ws = pbkdf2Sync(pin, salt, iterations, 80, "sha256");
    const w0 = toBigInt(ws.subarray(0, 40)) % P256_N;
    const w1 = toBigInt(ws.subarray(40, 80)) % P256_N;
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(bytes32(w1)); // w1 = 0 has probability 2^-256; OpenSSL would refuse it
    const out = new Uint8Array(97);
    out.set(bytes32(w0), 0);
    out.set(ecdh.getPublicKey(), 32);
    return out;
}
