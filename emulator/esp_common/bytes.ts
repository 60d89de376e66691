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
