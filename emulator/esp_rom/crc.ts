/**
 * esp_rom_crc32_le as ESP-IDF uses it for NVS, otadata, esp_secure_cert and Secure Boot signature blocks:
 * reflected polynomial 0xEDB88320. `crc32le(0xffffffff, d)` equals Python's `zlib.crc32(d, 0xffffffff)`
 * (the NVS variant: check value of "123456789" is 0xD202D277); `crc32le(0, d)` is the standard CRC-32.
 */

import { crc32 as zlibCrc32 } from "node:zlib";

const TABLE = (() => {
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        t[n] = c >>> 0;
    }
    return t;
})();

/** zlib.crc32(data, init): the register starts at ~init and the result is complemented. */
export function crc32le(init: number, data: Uint8Array): number {
    return crc32leRange(init, data, 0, data.length);
}

/** crc32le over `data[start, end)` without a subarray (the NVS generator CRCs every 32-byte entry it writes). */
export function crc32leRange(init: number, data: Uint8Array, start: number, end: number): number {
    // zlib's crc32(data, value) is this same function (same complement in and out); it is native, so it wins
    // from a few dozen bytes on (NVS blobs, images), the table below wins for entry headers
    if (end - start >= 64) return zlibCrc32(data.subarray(start, end), init >>> 0) >>> 0;
    let c = ~init >>> 0;
    for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
    return ~c >>> 0;
}

/** The NVS / otadata / secure-cert CRC: Python `zlib.crc32(d, 0xFFFFFFFF)`. */
export function espCrc32(data: Uint8Array): number {
    return crc32le(0xffffffff, data);
}
