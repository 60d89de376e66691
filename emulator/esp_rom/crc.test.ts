import { expect } from "chai";
import fc from "fast-check";
import { crc32le, crc32leRange, espCrc32 } from "./crc.js";

describe("esp_rom crc32_le", () => {
    const check = new TextEncoder().encode("123456789");

    it("has the NVS variant's check value (zlib.crc32(d, 0xFFFFFFFF))", () => {
        expect(espCrc32(check)).to.equal(0xd202d277);
    });

    it("is the standard CRC-32 with init 0", () => {
        expect(crc32le(0, check)).to.equal(0xcbf43926);
    });

    it("matches otadata CRCs from esp32-flash.md", () => {
        const le = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
        expect(espCrc32(le(1))).to.equal(0x4743989a);
        expect(espCrc32(le(2))).to.equal(0x55f63774);
    });

    it("chains like zlib: crc(a‖b) = crc(b, crc(a)) for the standard variant", () => {
        fc.assert(
            fc.property(fc.uint8Array(), fc.uint8Array(), (a, b) => {
                const joined = new Uint8Array([...a, ...b]);
                expect(crc32le(crc32le(0, a), b)).to.equal(crc32le(0, joined));
            }),
        );
    });

    it("detects every single-bit error", () => {
        fc.assert(
            fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), (data, bit) => {
                const flipped = data.slice();
                const i = bit % (data.length * 8);
                flipped[i >> 3]! ^= 1 << (i & 7);
                expect(espCrc32(flipped)).to.not.equal(espCrc32(data));
            }),
        );
    });

    it("native path (≥ 64 bytes, zlib) equals the table path (the same range in pieces under 64 bytes) for any init and range", () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (data, a, b, init) => {
                const start = data.length ? a % data.length : 0;
                const end = start + (data.length - start ? b % (data.length - start + 1) : 0);
                let chained = init;
                for (let p = start; p < end; p += 63) chained = crc32leRange(chained, data, p, Math.min(end, p + 63));
                expect(crc32leRange(init, data, start, end)).to.equal(chained);
                expect(crc32leRange(init, data, start, end)).to.equal(crc32le(init, data.subarray(start, end)));
            }),
            { numRuns: 300 },
        );
    });
});
