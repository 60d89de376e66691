/**
 * OS CSPRNG bytes for mass production, served from a per-thread buffer: one `randomFillSync` per 8 KiB instead
 * of one call per value (a device draws ~150 bytes in a handful of values; each call into the CSPRNG costs
 * ~8 µs). Every byte is handed out once and copied out, like Node's own buffered `randomUUID`.
 */
import { randomBytes, randomFillSync } from "node:crypto";

const POOL_BYTES = 8192;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let pos = POOL_BYTES;

export function osRandomBytes(n: number): Uint8Array {
    if (n > POOL_BYTES / 8) return new Uint8Array(randomBytes(n));
    if (pos + n > POOL_BYTES) {
        randomFillSync(pool);
        pos = 0;
    }
    const out = new Uint8Array(n);
    out.set(pool.subarray(pos, pos + n));
    pool.fill(0, pos, pos + n); // served bytes do not stay in memory
    pos += n;
    return out;
}
