import { expect } from "chai";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TlvOtaImageHeader } from "@matter/main/protocol";
import { DiagnosticError } from "../esp_common/err.js";
import { describeWithVectors } from "../testing/vectors.js";
import {
    createOtaImage,
    decodeOtaImage,
    encodeOtaHeader,
    OtaImageVerifier,
    verifyOtaImage,
    type OtaCreateOptions,
} from "./index.js";

function expectCode(fn: () => unknown, code: string): DiagnosticError {
    try {
        fn();
    } catch (e) {
        expect(e, String(e)).to.be.instanceOf(DiagnosticError);
        expect((e as DiagnosticError).code).to.equal(code);
        return e as DiagnosticError;
    }
    expect.fail(`expected ${code}`);
}

/**
 * An independent model of connectedhomeip's python TLVWriter as ota_image_tool.py drives it: a plain dict
 * (sorted by tag), `uint` values with the smallest width, strings/bytes with the smallest length width.
 */
function pyTlvHeader(fields: Array<[number, number | string | Uint8Array]>): Buffer {
    const out: number[] = [0x15];
    const width = (n: number) => (n <= 0xff ? 0 : n <= 0xffff ? 1 : n <= 0xffffffff ? 2 : 3);
    for (const [tag, v] of [...fields].sort((a, b) => a[0] - b[0])) {
        if (typeof v === "number") {
            const w = width(v);
            out.push(0x20 | 0x04 | w, tag, ...le8(v, w));
        } else {
            const bytes = typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);
            const w = width(bytes.length);
            out.push(0x20 | (typeof v === "string" ? 0x0c : 0x10) | w, tag, ...le8(bytes.length, w), ...bytes);
        }
    }
    out.push(0x18);
    return Buffer.from(out);
    function le8(n: number, w: number): number[] {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(BigInt(n));
        return [...b.subarray(0, 1 << w)];
    }
}

const NODE_HASH: Record<string, string> = { sha256: "sha256", sha384: "sha384", sha512: "sha512", sha3_224: "sha3-224", sha3_256: "sha3-256", sha3_384: "sha3-384", sha3_512: "sha3-512" };
const DIGEST_ID: Record<string, number> = { sha256: 1, sha384: 7, sha512: 8, sha3_224: 9, sha3_256: 10, sha3_384: 11, sha3_512: 12 };

/** The whole file as ota_image_tool.py would write it, from the independent model above. */
function pyOtaFile(o: OtaCreateOptions, payload: Uint8Array): Buffer {
    const digest = createHash(NODE_HASH[o.digestAlgorithm]!).update(payload).digest();
    const fields: Array<[number, number | string | Uint8Array]> = [
        [0, o.vendorId], [1, o.productId], [2, o.softwareVersion], [3, o.softwareVersionString], [4, payload.length],
        [8, DIGEST_ID[o.digestAlgorithm]!], [9, digest],
    ];
    if (o.minApplicableVersion !== undefined) fields.push([5, o.minApplicableVersion]);
    if (o.maxApplicableVersion !== undefined) fields.push([6, o.maxApplicableVersion]);
    if (o.releaseNotesUrl !== undefined) fields.push([7, o.releaseNotesUrl]);
    const tlv = pyTlvHeader(fields);
    const fixed = Buffer.alloc(16);
    fixed.writeUInt32LE(0x1beef11e, 0);
    fixed.writeBigUInt64LE(BigInt(16 + tlv.length + payload.length), 4);
    fixed.writeUInt32LE(tlv.length, 12);
    return Buffer.concat([fixed, tlv, payload]);
}

const base: OtaCreateOptions = { vendorId: 0xfff1, productId: 0x8000, softwareVersion: 2, softwareVersionString: "2.0", digestAlgorithm: "sha256" };
const payload = new Uint8Array(300).map((_, i) => (i * 31) & 0xff);

describeWithVectors("ota_image golden vectors (ota_image_tool.py)", "ota", dir => {
    const ref = readFileSync(join(dir, "ref1_fff1_8000_v2_sha256.ota"));
    const pl = readFileSync(join(dir, "payload1.bin"));

    it("create -v 0xFFF1 -p 0x8000 -vn 2 -vs 2.0 -da sha256 is byte-for-byte the reference file", () => {
        const r = createOtaImage(base, pl);
        expect(Buffer.from(r.image).equals(ref)).to.equal(true);
        expect(r.headerSize).to.equal(ref.readUInt32LE(12));
        expect(r.totalSize).to.equal(ref.length);
    });

    it("show decodes the reference file's fields and digest", () => {
        const d = decodeOtaImage(ref);
        expect(d.header.vendorId).to.equal(0xfff1);
        expect(d.header.productId).to.equal(0x8000);
        expect(d.header.softwareVersion).to.equal(2);
        expect(d.header.softwareVersionString).to.equal("2.0");
        expect(d.header.payloadSize).to.equal(pl.length);
        expect(d.header.minApplicableVersion).to.equal(undefined);
        expect(d.header.maxApplicableVersion).to.equal(undefined);
        expect(d.header.releaseNotesUrl).to.equal(undefined);
        expect(d.header.digestType).to.equal(1);
        expect(Buffer.from(d.header.digest).equals(createHash("sha256").update(pl).digest())).to.equal(true);
        expect(d.digestOk).to.equal(true);
        expect(Buffer.from(d.payload).equals(pl)).to.equal(true);
        // matter.js's own decoder agrees (independent TLV implementation)
        const m = TlvOtaImageHeader.decode(ref.subarray(16, 16 + d.headerSize));
        expect(m.vendorId).to.equal(0xfff1);
        expect(Number(m.payloadSize)).to.equal(pl.length);
    });

    it("the independent python-TLVWriter model reproduces the reference (so the model is trustworthy)", () => {
        expect(pyOtaFile(base, pl).equals(ref)).to.equal(true);
    });

    it("the verifier accepts it for a v1 device and says why not for others", () => {
        expect(verifyOtaImage(ref, { vendorId: 0xfff1, productId: 0x8000, currentVersion: 1 }).ok).to.equal(true);
        const r = verifyOtaImage(ref, { vendorId: 0xfff2, productId: 0x8001, currentVersion: 2 });
        expect(r.rejections.map(x => x.reason)).to.deep.equal(["VendorIdMismatch", "ProductIdMismatch", "NotNewer"]);
        expect(r.digestOk).to.equal(true);
    });
});

describe("ota_image create: ota_image_tool's refusals", () => {
    const cases: Array<[string, Partial<OtaCreateOptions>, string]> = [
        ["VID 0", { vendorId: 0 }, "Vendor ID is zero"],
        ["PID 0", { productId: 0 }, "Product ID is zero"],
        ["empty version string", { softwareVersionString: "" }, "length 1-64"],
        ["65-char version string", { softwareVersionString: "x".repeat(65) }, "length 1-64"],
        ["64 chars but 128 UTF-8 bytes", { softwareVersionString: "é".repeat(64) }, "at most 64"],
        ["min == version", { minApplicableVersion: 2 }, "Minimum applicable version is greater or equal"],
        ["max == version", { maxApplicableVersion: 2 }, "Maximum applicable version is greater or equal"],
        ["min > max", { softwareVersion: 10, minApplicableVersion: 5, maxApplicableVersion: 4 }, "greater than maximum"],
        ["empty URL", { releaseNotesUrl: "" }, "length 1-256"],
        ["257-char URL", { releaseNotesUrl: "https://" + "a".repeat(249) }, "length 1-256"],
        ["unknown digest", { digestAlgorithm: "md5" }, "digest algorithm"],
        ["version > uint32", { softwareVersion: 2 ** 32 }, "uint32"],
        ["VID > uint16", { vendorId: 0x10000 }, "0xFFFF"],
    ];
    for (const [name, patch, msg] of cases) {
        it(`refuses ${name}`, () => {
            const e = expectCode(() => createOtaImage({ ...base, ...patch }, payload), "CHIP_ERROR_INVALID_ARGUMENT");
            expect(e.message).to.contain(msg);
        });
    }

    it("accepts the boundaries and warns like the tool", () => {
        const r = createOtaImage({ ...base, softwareVersion: 10, minApplicableVersion: 9, maxApplicableVersion: 9, releaseNotesUrl: "http://" + "a".repeat(249), softwareVersionString: "v".repeat(64) }, payload);
        expect(r.warnings).to.deep.equal(['Release notes URL does not start with "https://"']);
        expect(createOtaImage({ ...base, digestAlgorithm: "sha3_224" }, payload).warnings).to.deep.equal(["Using digest length below 256 bits is not recommended"]);
    });
});

const optsArb: fc.Arbitrary<OtaCreateOptions> = fc
    .record({
        vendorId: fc.integer({ min: 1, max: 0xffff }),
        productId: fc.integer({ min: 1, max: 0xffff }),
        softwareVersion: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 0xffffffff })),
        softwareVersionString: fc.string({ minLength: 1, maxLength: 64, unit: "grapheme-ascii" }),
        digestAlgorithm: fc.constantFrom("sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384", "sha3_512"),
        min: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
        max: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
        releaseNotesUrl: fc.option(fc.string({ minLength: 1, maxLength: 256, unit: "grapheme-ascii" }), { nil: undefined }),
    })
    .map(({ min, max, ...o }) => {
        // min and max below the version, min <= max
        const below = (f: number) => Math.floor(f * (o.softwareVersion - 1));
        let mi = min === undefined ? undefined : below(min);
        const ma = max === undefined ? undefined : below(max);
        if (mi !== undefined && ma !== undefined && mi > ma) mi = ma;
        return {
            ...o,
            ...(mi !== undefined ? { minApplicableVersion: mi } : {}),
            ...(ma !== undefined ? { maxApplicableVersion: ma } : {}),
            ...(o.releaseNotesUrl === undefined ? { releaseNotesUrl: undefined } : {}),
        };
    });

describe("ota_image properties", () => {
    it("arbitrary valid headers + payloads: bytes equal the python-TLVWriter model, decode round-trips, digestOk", () => {
        fc.assert(
            fc.property(optsArb, fc.uint8Array({ maxLength: 2000 }), (o, pl) => {
                const r = createOtaImage(o, pl);
                expect(Buffer.from(r.image).equals(pyOtaFile(o, pl))).to.equal(true);
                // and byte-identical to matter.js's TlvOtaImageHeader encoding of the same header
                const h = r.header;
                const viaMatterJs = TlvOtaImageHeader.encode({
                    vendorId: h.vendorId,
                    productId: h.productId,
                    softwareVersion: h.softwareVersion,
                    softwareVersionString: h.softwareVersionString,
                    payloadSize: BigInt(h.payloadSize),
                    minApplicableSoftwareVersion: h.minApplicableVersion,
                    maxApplicableSoftwareVersion: h.maxApplicableVersion,
                    releaseNotesUrl: h.releaseNotesUrl,
                    imageDigestType: h.digestType,
                    imageDigest: h.digest,
                });
                expect(Buffer.from(r.image.subarray(16, 16 + r.headerSize)).equals(Buffer.from(viaMatterJs))).to.equal(true);
                const d = decodeOtaImage(r.image);
                expect(d.digestOk).to.equal(true);
                expect(d.header.vendorId).to.equal(o.vendorId);
                expect(d.header.productId).to.equal(o.productId);
                expect(d.header.softwareVersion).to.equal(o.softwareVersion);
                expect(d.header.softwareVersionString).to.equal(o.softwareVersionString);
                expect(d.header.minApplicableVersion).to.equal(o.minApplicableVersion);
                expect(d.header.maxApplicableVersion).to.equal(o.maxApplicableVersion);
                expect(d.header.releaseNotesUrl).to.equal(o.releaseNotesUrl);
                expect(d.header.digestType).to.equal(DIGEST_ID[o.digestAlgorithm]);
                expect(Buffer.from(d.payload).equals(Buffer.from(pl))).to.equal(true);
                expect(verifyOtaImage(r.image, { vendorId: o.vendorId, productId: o.productId }).ok).to.equal(true);
            }),
            { numRuns: 120 },
        );
    });

    it("streaming in arbitrary chunks gives the same verdict as one shot", () => {
        fc.assert(
            fc.property(optsArb, fc.uint8Array({ maxLength: 600 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }), fc.nat(0xffffffff), (o, pl, sizes, cur) => {
                const img = createOtaImage(o, pl).image;
                const v = new OtaImageVerifier({ vendorId: o.vendorId, currentVersion: cur });
                let p = 0;
                for (let i = 0; p < img.length; i++) {
                    const n = sizes[i % sizes.length]!;
                    v.update(img.subarray(p, p + n));
                    p += n;
                }
                expect(v.finish()).to.deep.equal(verifyOtaImage(img, { vendorId: o.vendorId, currentVersion: cur }));
            }),
            { numRuns: 80 },
        );
    });

    it("random and mutated images → DiagnosticError or a decode with digestOk=false, never a crash", () => {
        const good = createOtaImage({ ...base, minApplicableVersion: 1, releaseNotesUrl: "https://example.com/n" }, payload).image;
        const mutated = fc
            .tuple(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), fc.integer({ min: -40, max: 40 }))
            .map(([flips, delta]) => {
                const len = Math.max(0, good.length + delta);
                const b = new Uint8Array(len);
                b.set(good.subarray(0, Math.min(len, good.length)));
                for (const [i, x] of flips) if (i < b.length) b[i]! ^= x;
                return b;
            });
        const headerish = fc.uint8Array({ minLength: 0, maxLength: 200 }).map(tail => {
            const b = new Uint8Array(16 + tail.length);
            new DataView(b.buffer).setUint32(0, 0x1beef11e, true);
            new DataView(b.buffer).setUint32(12, tail.length, true);
            b.set(tail, 16);
            return b;
        });
        fc.assert(
            fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated, headerish), bytes => {
                let ok = false;
                try {
                    const d = decodeOtaImage(bytes);
                    ok = d.digestOk;
                } catch (e) {
                    expect(e, String(e)).to.be.instanceOf(DiagnosticError);
                }
                const v = verifyOtaImage(bytes, { vendorId: 0xfff1 });
                if (!ok) expect(v.ok).to.equal(false);
            }),
            { numRuns: 400 },
        );
    });
});

describe("ota_image decoder and verifier rules", () => {
    const good = createOtaImage({ ...base, softwareVersion: 5, minApplicableVersion: 2, maxApplicableVersion: 3 }, payload).image;

    it("flags a payload bit flip as a digest mismatch, not a crash", () => {
        const bad = good.slice();
        bad[bad.length - 1]! ^= 1;
        expect(decodeOtaImage(bad).digestOk).to.equal(false);
        const r = verifyOtaImage(bad, {});
        expect(r.ok).to.equal(false);
        expect(r.rejections.map(x => x.reason)).to.deep.equal(["DigestMismatch"]);
    });

    it("names the header and size errors like connectedhomeip", () => {
        expectCode(() => decodeOtaImage(good.subarray(0, 10)), "CHIP_ERROR_BUFFER_TOO_SMALL");
        const ident = good.slice();
        ident[0] = 0;
        expectCode(() => decodeOtaImage(ident), "CHIP_ERROR_INVALID_FILE_IDENTIFIER");
        const big = good.slice();
        new DataView(big.buffer).setUint32(12, 1025, true);
        expectCode(() => decodeOtaImage(big), "CHIP_ERROR_NO_MEMORY");
        expectCode(() => decodeOtaImage(good.subarray(0, good.length - 1)), "CHIP_ERROR_BUFFER_TOO_SMALL");
        expectCode(() => decodeOtaImage(Buffer.concat([good, Buffer.from([0])])), "OTA_SIZE_MISMATCH");
        const total = good.slice();
        new DataView(total.buffer).setBigUint64(4, BigInt(good.length + 1), true);
        expectCode(() => decodeOtaImage(total), "OTA_SIZE_MISMATCH");
        expect(verifyOtaImage(good.subarray(0, good.length - 10)).rejections[0]!.reason).to.equal("Truncated");
        expect(verifyOtaImage(good.subarray(0, 20)).rejections[0]!.reason).to.equal("Truncated");
    });

    it("requires the CHIP field order (a header with tags out of order is refused with the offset)", () => {
        // swap ProductID before VendorID: same bytes otherwise
        const tlv = Buffer.from([0x15, 0x25, 0x01, 0x00, 0x80, 0x25, 0x00, 0xf1, 0xff, 0x18]);
        const file = Buffer.alloc(16 + tlv.length);
        file.writeUInt32LE(0x1beef11e, 0);
        file.writeBigUInt64LE(BigInt(file.length), 4);
        file.writeUInt32LE(tlv.length, 12);
        tlv.copy(file, 16);
        const e = expectCode(() => decodeOtaImage(file), "CHIP_ERROR_UNEXPECTED_TLV_ELEMENT");
        expect(e.context.offset).to.equal(17);
    });

    it("checks min/max applicable and version like a requestor", () => {
        const reasons = (cur: number) => verifyOtaImage(good, { currentVersion: cur }).rejections.map(r => r.reason);
        expect(reasons(1)).to.deep.equal(["BelowMinApplicable"]);
        expect(reasons(2)).to.deep.equal([]);
        expect(reasons(3)).to.deep.equal([]);
        expect(reasons(4)).to.deep.equal(["AboveMaxApplicable"]);
        expect(reasons(5)).to.deep.equal(["NotNewer", "AboveMaxApplicable"]);
    });

    it("verifies truncated sha-256 digest types (RFC 6920 ids 2..6) and reports unknown ids", () => {
        for (const [id, size] of [[2, 16], [3, 15], [4, 12], [5, 8], [6, 4]] as const) {
            const digest = createHash("sha256").update(payload).digest().subarray(0, size);
            const head = encodeOtaHeader({ vendorId: 1, productId: 1, softwareVersion: 1, softwareVersionString: "1", payloadSize: payload.length, digestType: id, digest });
            const d = decodeOtaImage(Buffer.concat([head, payload]));
            expect(d.digestOk, `id ${id}`).to.equal(true);
        }
        const head = encodeOtaHeader({ vendorId: 1, productId: 1, softwareVersion: 1, softwareVersionString: "1", payloadSize: payload.length, digestType: 13, digest: new Uint8Array(32) });
        const img = Buffer.concat([head, payload]);
        expect(decodeOtaImage(img).digestOk).to.equal(false);
        expect(verifyOtaImage(img).rejections.map(r => r.reason)).to.deep.equal(["UnsupportedDigestType"]);
    });
});
