import { expect } from "chai";
import fc from "fast-check";
import jsQRModule from "jsqr";
import { PNG } from "pngjs";
import { inflateSync } from "node:zlib";
import { deflateLines, pngGrey1 } from "./png.js";
import { qrMatrix, qrPng, qrSvgBytes } from "./qrlabel.js";

// jsqr is CommonJS with `exports.default`
type JsQR = typeof import("jsqr").default;
const jsQR: JsQR = (jsQRModule as unknown as { default?: JsQR }).default ?? (jsQRModule as unknown as JsQR);

/** Distinct lines of `stride` bytes, each new or a copy of the previous one, with runs of one byte in them. */
const lines = fc
    .record({ stride: fc.integer({ min: 1, max: 600 }), rows: fc.integer({ min: 1, max: 12 }), repeat: fc.integer({ min: 1, max: 7 }) })
    .chain(({ stride, rows, repeat }) =>
        fc.tuple(
            fc.constant(stride),
            fc.constant(repeat),
            fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ minLength: stride, maxLength: stride }), fc.integer({ min: 0, max: 255 }), fc.nat(stride)), { minLength: rows, maxLength: rows }),
        ),
    )
    .map(([stride, repeat, spec]) => {
        const raw = new Uint8Array(stride * spec.length);
        spec.forEach(([same, bytes, fill, runFrom], y) => {
            if (same && y > 0) raw.copyWithin(y * stride, (y - 1) * stride, y * stride);
            else {
                raw.set(bytes, y * stride);
                raw.fill(fill, y * stride + runFrom, (y + 1) * stride); // runs of one byte (distance-1 matches)
            }
        });
        return { raw, stride, repeat };
    });

/** The image the PNG shows: every line `repeat` times. */
function expand(raw: Uint8Array, stride: number, repeat: number): Buffer {
    const out: Buffer[] = [];
    for (let y = 0; y < raw.length / stride; y++) for (let r = 0; r < repeat; r++) out.push(Buffer.from(raw.subarray(y * stride, (y + 1) * stride)));
    return Buffer.concat(out);
}

describe("png: 1-bit PNG with the row-repeat deflate", () => {
    it("deflateLines inflates (zlib, which checks the Adler-32) back to its lines, each repeated, for any lines (strides over 258 too)", () => {
        fc.assert(
            fc.property(lines, ({ raw, stride, repeat }) => {
                const z = deflateLines(raw, stride, repeat);
                expect(Buffer.compare(inflateSync(z), expand(raw, stride, repeat))).to.equal(0);
            }),
            { numRuns: 300 },
        );
    });

    it("Adler-32 stays right past zlib's 5552-byte block (sums taken modulo 65521 per line)", () => {
        const big = new Uint8Array(100_000).fill(0xff);
        for (let i = 0; i < big.length; i += 7) big[i] = i & 0xff;
        expect(inflateSync(deflateLines(big, 1000, 3)).equals(expand(big, 1000, 3))).to.equal(true);
    });

    it("pngGrey1: pngjs reads back the same pixels for any 1-bit image", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 20 }), fc.infiniteStream(fc.boolean()), (width, height, bits) => {
                const stride = Math.ceil(width / 8) + 1;
                const raw = new Uint8Array(stride * height);
                const it = bits[Symbol.iterator]();
                const white: boolean[] = [];
                for (let y = 0; y < height; y++) {
                    for (let x = 0; x < width; x++) {
                        const w = it.next().value as boolean;
                        white.push(w);
                        if (w) raw[y * stride + 1 + (x >> 3)]! |= 0x80 >> (x & 7);
                    }
                }
                const png = PNG.sync.read(Buffer.from(pngGrey1(raw, width)));
                expect([png.width, png.height]).to.deep.equal([width, height]);
                for (let i = 0; i < width * height; i++) expect(png.data[i * 4]).to.equal(white[i] ? 255 : 0);
            }),
            { numRuns: 100 },
        );
    });

    it("qrPng: a QR decoder reads the Matter payload back, and the label is smaller than its raw scanlines", () => {
        const text = "MT:Y.K9042C00KA0648G00";
        const png = qrPng(qrMatrix(text));
        const img = PNG.sync.read(Buffer.from(png));
        expect(jsQR(new Uint8ClampedArray(img.data), img.width, img.height)?.data).to.equal(text);
        expect(png.length).to.be.below((Math.ceil(img.width / 8) + 1) * img.height / 4);
    });

    it("deflateLines rejects a buffer that is not whole lines, and a repeat below 1", () => {
        expect(() => deflateLines(new Uint8Array(10), 3)).to.throw(RangeError);
        expect(() => deflateLines(new Uint8Array(9), 3, 0)).to.throw(RangeError);
    });

    it("pngGrey1 with repeat: pngjs reads each line `repeat` times", () => {
        const raw = Uint8Array.of(0, 0b10100000, 0, 0b01000000); // width 3: white-black-white, black-white-black
        const png = PNG.sync.read(Buffer.from(pngGrey1(raw, 3, 4)));
        expect([png.width, png.height]).to.deep.equal([3, 8]);
        const row = (y: number): number[] => [0, 1, 2].map(x => png.data[(y * 3 + x) * 4]!);
        for (let y = 0; y < 4; y++) expect(row(y)).to.deep.equal([255, 0, 255]);
        for (let y = 4; y < 8; y++) expect(row(y)).to.deep.equal([0, 255, 0]);
    });
});

describe("QR labels drawn from row words (the version-2 encoder's rows)", () => {
    /** A random symbol as both forms: flat modules only, and modules + row words. */
    const symbol = fc.tuple(fc.oneof(fc.integer({ min: 1, max: 27 }), fc.constantFrom(25, 26, 27)), fc.integer({ min: 0, max: 4 }), fc.integer()).map(([size, density, seed]) => {
        let x = seed | 1;
        const modules = Uint8Array.from({ length: size * size }, () => {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            return (x >>> 0) % 4 < density ? 1 : 0;
        });
        const rows = Array.from({ length: size }, (_, r) => {
            let w = 0;
            for (let c = 0; c < size; c++) if (modules[r * size + c]) w |= 1 << c;
            return w;
        });
        return { flat: { size, modules }, words: { size, modules, rows } };
    });

    it("the PNG and SVG are byte for byte those drawn module by module, for any symbol and quiet zone", () => {
        fc.assert(
            fc.property(symbol, fc.integer({ min: 0, max: 4 }), ({ flat, words }, quiet) => {
                if (flat.size + quiet > 31) return;
                expect(Buffer.from(qrPng(words, 6, quiet)).equals(Buffer.from(qrPng(flat, 6, quiet)))).to.equal(true);
                expect(Buffer.from(qrSvgBytes(words, quiet)).equals(Buffer.from(qrSvgBytes(flat, quiet)))).to.equal(true);
            }),
            { numRuns: 200 },
        );
    });

    it("the fast encoder's symbol gives its row words, and its flat modules agree with them", () => {
        const m = qrMatrix("MT:Y.K9042C00KA0648G00");
        expect(m.rows).to.have.length(25);
        for (let r = 0; r < 25; r++) for (let c = 0; c < 25; c++) expect(m.modules[r * 25 + c]).to.equal((m.rows![r]! >>> c) & 1);
    });
});
