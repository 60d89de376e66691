/** Byte helpers shared by the on-chip format codecs (plain functions over bytes, no I/O). */

/** The parts one after the other in a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
        out.set(p, at);
        at += p.length;
    }
    return out;
}

/**
 * A plain Uint8Array over the bytes of a Buffer that Node's C++ side just made (a signature, a public key, a
 * derived key): a view, not a copy — over 64 bytes a copy is a new ArrayBuffer outside V8's heap, ≈ 1 µs.
 * Only for a Buffer owned by the caller (not one from Node's shared pool that something else may reuse).
 */
export function ownBytes(buf: Uint8Array): Uint8Array {
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
