import { expect } from "chai";
import fc from "fast-check";
import jsQRModule from "jsqr";
import { PNG } from "pngjs";
import { inflateSync } from "node:zlib";
import { adler32, deflateRows, pngGrey1 } from "./png.js";
import { qrMatrix, qrPng } from "./qrlabel.js";

// jsqr is CommonJS with `exports.default`
type JsQR = typeof import("jsqr").default;
const jsQR: JsQR = (jsQRModule as unknown as { default?: JsQR }).default ?? (jsQRModule as unknown as JsQR);

/** Lines of `stride` bytes where each line is new or a copy of the previous one (like a scaled QR label). */
const lines = fc
    .record({ stride: fc.integer({ min: 1, max: 600 }), rows: fc.integer({ min: 1, max: 12 }) })
    .chain(({ stride, rows }) =>
        fc.tuple(
            fc.constant(stride),
            fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ minLength: stride, maxLength: stride }), fc.integer({ min: 0, max: 255 }), fc.nat(stride)), { minLength: rows, maxLength: rows }),
        ),
    )
    .map(([stride, spec]) => {
        const raw = new Uint8Array(stride * spec.length);
        spec.forEach(([repeat, bytes, fill, runFrom], y) => {
            if (repeat && y > 0) raw.copyWithin(y * stride, (y - 1) * stride, y * stride);
            else {
                raw.set(bytes, y * stride);
                raw.fill(fill, y * stride + runFrom, (y + 1) * stride); // runs of one byte (distance-1 matches)
            }
        });
        return { raw, stride, rows: spec.length };
    });

describe("png: 1-bit PNG with the row-repeat deflate", () => {
    it("deflateRows inflates (zlib) back to its input, Adler-32 included, for any lines (strides over 258 too)", () => {
        fc.assert(
            fc.property(lines, ({ raw, stride, rows }) => {
                const z = deflateRows(raw, stride, rows);
                expect(Buffer.compare(inflateSync(z), Buffer.from(raw))).to.equal(0);
            }),
            { numRuns: 300 },
        );
    });

    it("adler32 matches zlib's check value", () => {
        expect(adler32(new TextEncoder().encode("Wikipedia"))).to.equal(0x11e60398);
        expect(adler32(new Uint8Array(0))).to.equal(1);
        const big = new Uint8Array(100_000).fill(0xff); // sums past the 5552-byte block
        expect(inflateSync(deflateRows(big, 1000, 100)).equals(Buffer.from(big))).to.equal(true);
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
                const png = PNG.sync.read(Buffer.from(pngGrey1(raw, width, height)));
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

    it("deflateRows rejects a buffer that is not whole lines", () => {
        expect(() => deflateRows(new Uint8Array(10), 3, 3)).to.throw(RangeError);
    });
});
