import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { describeWithVectors } from "../testing/vectors.js";
import { decodeAppDescriptor, matterSoftwareVersion } from "./app_format.js";
import { CHIP_NAMES, CHIPS } from "./chips.js";
import { assembleImage, buildAppImage, imageInfo, parseAppImage } from "./image_format.js";
import { encodeImageHeader } from "./app_format.js";

const sha = (d: Uint8Array) => createHash("sha256").update(d).digest("hex");

describeWithVectors("app image: golden vector (esp_app_format.h)", "esp32/app_image", dir => {
    const bin = readFileSync(join(dir, "app_esp32c3_unsigned.bin"));
    const meta = JSON.parse(readFileSync(join(dir, "app_esp32c3_unsigned.json"), "utf8"));

    it("parses every field the JSON records", () => {
        const img = parseAppImage(bin);
        expect(bin.length).to.equal(meta.length);
        expect(img.imageLength).to.equal(meta.length);
        expect(img.header.chipId).to.equal(meta.chip_id);
        expect(img.segments.map(s => ({ load_addr: `0x${s.loadAddr.toString(16)}`, data_len: s.length, file_offset_of_data: s.dataOffset }))).to.deep.equal(meta.segments);
        expect(img.checksum.offset).to.equal(meta.checksum_offset);
        expect(img.checksum.stored).to.equal(parseInt(meta.checksum_byte, 16));
        expect(img.checksum.ok).to.equal(true);
        expect(Buffer.from(img.hash!.stored).toString("hex")).to.equal(meta.sha256_appended);
        expect(img.hash!.offset).to.equal(meta.sha256_over_bytes[1]);
        expect(sha(bin.subarray(meta.sha256_over_bytes[0], meta.sha256_over_bytes[1]))).to.equal(meta.sha256_appended);
        expect(img.hash!.ok).to.equal(true);
        expect(img.appDesc!.secureVersion).to.equal(meta.secure_version);
        expect(img.appDesc!.projectName).to.equal(meta.project_name);
        expect(img.appDesc!.version).to.equal(meta.version);
    });

    it("decodes the README's header and descriptor fields", () => {
        const img = parseAppImage(bin);
        expect(img.header).to.include({ spiMode: 2, spiSpeed: 0, spiSize: 2, entryAddr: 0x40380080, wpPin: 0xee, minChipRev: 3, minChipRevFull: 3, maxChipRevFull: 199, hashAppended: true });
        expect(img.appDesc).to.include({ time: "12:00:00", date: "Jan  1 2025", idfVer: "v5.5.1", maxEfuseBlkRevFull: 199, minEfuseBlkRevFull: 0, mmuPageSize: 16 });
        expect(Buffer.from(img.appDesc!.appElfSha256).toString("hex")).to.equal(sha(Buffer.from("dummy elf for virtual-matter-light")));
        const seg1 = img.segments[1]!;
        expect([...seg1.data]).to.deep.equal(Array.from({ length: 128 }, (_, i) => (37 * i + 11) & 0xff));
    });

    it("buildAppImage reproduces the vector byte for byte", () => {
        const built = buildAppImage({ chip: "esp32c3", version: "1.0.0", secureVersion: 1, projectName: "virtual-matter-light", idfVer: "v5.5.1" });
        expect(Buffer.from(built).equals(bin)).to.equal(true);
    });

    it("imageInfo gives the cli.md shape", () => {
        const info = imageInfo(bin);
        expect(info).to.include({ chipId: 5, entryAddr: "0x40380080", checksumOk: true, hashOk: true });
        expect(info.segments.map(s => [s.loadAddr, s.length])).to.deep.equal([["0x3c000020", 320], ["0x40380000", 128]]);
        expect(info.appDesc).to.include({ version: "1.0.0", projectName: "virtual-matter-light", secureVersion: 1, idfVer: "v5.5.1" });
        expect(info.signatureBlocks).to.deep.equal([]);
    });

    it("mutations of the vector: a DiagnosticError or a parse whose checks notice the change", () => {
        fc.assert(fc.property(fc.nat(bin.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
            const m = Uint8Array.from(bin);
            m[at]! ^= x;
            try {
                const img = parseAppImage(m);
                // any change is caught by the checksum (segment data/checksum byte) or the hash (everything else)
                expect(img.checksum.ok && img.hash?.ok === true && img.imageLength === bin.length).to.equal(false);
            } catch (e) {
                expect(e).to.be.instanceOf(DiagnosticError);
            }
        }), { numRuns: 300 });
    });
});

describe("app image: build → parse round trips", () => {
    for (const chip of CHIP_NAMES) {
        it(`${chip}: fields survive, checksum and hash are independently right`, () => {
            const bytes = buildAppImage({ chip, version: "2.3.4", secureVersion: 7, projectName: "light", idfVer: "v5.4", matterSoftwareVersion: 0x01020304 });
            const img = parseAppImage(bytes);
            expect(img.header.chipId).to.equal(CHIPS[chip].id);
            expect(img.segments[0]!.loadAddr).to.equal(CHIPS[chip].dromLoad);
            expect(img.appDesc).to.include({ version: "2.3.4", secureVersion: 7, projectName: "light", idfVer: "v5.4", matterSoftwareVersion: 0x01020304 });
            // independent checksum: 0xEF ^ every segment data byte
            let x = 0xef;
            for (const s of img.segments) for (const b of bytes.subarray(s.dataOffset, s.dataOffset + s.length)) x ^= b;
            expect(bytes[img.checksum.offset]).to.equal(x);
            expect((img.checksum.offset + 1) % 16).to.equal(0);
            expect(Buffer.from(bytes.subarray(img.checksum.offset + 1)).toString("hex")).to.equal(sha(bytes.subarray(0, img.checksum.offset + 1)));
        });
    }

    it("is deterministic and --size grows the image to the requested length (rounded up to 16)", () => {
        expect(sha(buildAppImage({ chip: "esp32", version: "1" }))).to.equal(sha(buildAppImage({ chip: "esp32", version: "1" })));
        for (const size of [0, 600, 4096, 100_001, 1 << 20]) {
            const bytes = buildAppImage({ chip: "esp32s3", version: "1", size });
            expect(bytes.length).to.equal(Math.max(528, Math.ceil(size / 16) * 16));
            const img = parseAppImage(bytes);
            expect(img.checksum.ok && img.hash!.ok).to.equal(true);
        }
    });

    it("property: arbitrary build options round-trip", () => {
        const str = (max: number) => fc.stringMatching(new RegExp(`^[ -~]{0,${max}}$`));
        fc.assert(fc.property(
            fc.constantFrom(...CHIP_NAMES), str(31), str(31), fc.nat(0xffffffff), fc.option(fc.nat(0xffffffff), { nil: undefined }),
            fc.uint8Array({ maxLength: 64 }).map(a => a.subarray(0, a.length & ~3)),
            (chip, version, projectName, secureVersion, sv, code) => {
                const bytes = buildAppImage({ chip, version, projectName, secureVersion, code, ...(sv !== undefined ? { matterSoftwareVersion: sv } : {}) });
                const img = parseAppImage(bytes);
                expect(img.appDesc).to.include({ version, projectName, secureVersion });
                expect(img.appDesc!.matterSoftwareVersion).to.equal(sv);
                expect([...img.segments[1]!.data]).to.deep.equal([...code]);
                expect(img.checksum.ok && img.hash!.ok).to.equal(true);
            }), { numRuns: 100 });
    });

    it("rejects fields that do not fit esp_app_desc_t", () => {
        expect(() => buildAppImage({ chip: "esp32c3", version: "x".repeat(32) })).to.throw(DiagnosticError, /at most 31/);
        expect(() => buildAppImage({ chip: "esp32c3", version: "1", matterSoftwareVersion: 2 ** 32 })).to.throw(DiagnosticError);
        expect(() => buildAppImage({ chip: "esp8266", version: "1" })).to.throw(DiagnosticError, /unknown chip/);
    });
});

describe("Matter SoftwareVersion placement", () => {
    it("explicit field wins; else an integer version string; else undefined", () => {
        const d = (version: string, sv?: number) => decodeAppDescriptor(buildAppImage({ chip: "esp32c3", version, ...(sv !== undefined ? { matterSoftwareVersion: sv } : {}) }), 0x20)!;
        expect(matterSoftwareVersion(d("1.2.3", 10203))).to.equal(10203);
        expect(matterSoftwareVersion(d("42"))).to.equal(42);
        expect(matterSoftwareVersion(d("0x2A"))).to.equal(42);
        expect(matterSoftwareVersion(d("1.2.3"))).to.equal(undefined);
        expect(matterSoftwareVersion(d("99999999999"))).to.equal(undefined);
        // stored at esp_app_desc_t offset 0xB8 (reserv2) behind the "MTSV" marker
        const bytes = buildAppImage({ chip: "esp32c3", version: "1", matterSoftwareVersion: 0x11223344 });
        expect(Buffer.from(bytes.subarray(0x20 + 0xb8, 0x20 + 0xc0)).toString("hex")).to.equal("4d54535644332211");
    });
});

describe("app image: structural errors are EspError ESP_ERR_IMAGE_INVALID with the bootloader's words", () => {
    const good = buildAppImage({ chip: "esp32c3", version: "1" });
    const expectErr = (bytes: Uint8Array, re: RegExp) => {
        try {
            parseAppImage(bytes);
            expect.fail("no error");
        } catch (e) {
            expect(e).to.be.instanceOf(EspError);
            expect((e as EspError).code).to.equal("ESP_ERR_IMAGE_INVALID");
            expect((e as Error).message).to.match(re);
        }
    };
    it("bad magic", () => {
        expectErr(new Uint8Array(64).fill(0xff), /image at 0x0 has invalid magic byte/);
        expect(() => parseAppImage(new Uint8Array(64).fill(0xff), { address: 0x10000 })).to.throw(/image at 0x10000 has invalid magic byte/);
    });
    it("too many segments", () => {
        const m = Uint8Array.from(good);
        m[1] = 17;
        expectErr(m, /segment count 17 exceeds max 16/);
    });
    it("unaligned or huge segment length", () => {
        const m = Uint8Array.from(good);
        new DataView(m.buffer).setUint32(24 + 4, 0x141, true);
        expectErr(m, /invalid segment length 0x141/);
        new DataView(m.buffer).setUint32(24 + 4, 0x1000000, true);
        expectErr(m, /invalid segment length 0x1000000/);
    });
    it("truncation anywhere", () => {
        for (const n of [1, 10, 24, 30, 100, 400, good.length - 33, good.length - 1]) expectErr(good.subarray(0, n), /truncated/);
    });
    it("checksum and hash mismatches are reported, not thrown", () => {
        const m = Uint8Array.from(good);
        m[0x130]! ^= 1;
        const img = parseAppImage(m);
        expect(img.checksum.ok).to.equal(false);
        expect(img.hash!.ok).to.equal(false);
        const h = Uint8Array.from(good);
        h[5]! ^= 1; // entry address: not in the checksum, only in the hash
        const img2 = parseAppImage(h);
        expect(img2.checksum.ok).to.equal(true);
        expect(img2.hash!.ok).to.equal(false);
    });
    it("an image without the hash and with many segments assembles and parses", () => {
        const header = encodeImageHeader({ segmentCount: 16, spiMode: 0, spiSpeed: 0, spiSize: 0, entryAddr: 0, wpPin: 0, spiPinDrv: [0, 0, 0], chipId: 0, minChipRev: 0, minChipRevFull: 0, maxChipRevFull: 0, hashAppended: false });
        const segs = Array.from({ length: 16 }, (_, i) => ({ loadAddr: 0x40080000 + i * 16, data: new Uint8Array(i * 4).fill(i) }));
        const img = parseAppImage(assembleImage(header, segs));
        expect(img.segments.length).to.equal(16);
        expect(img.hash).to.equal(undefined);
        expect(img.checksum.ok).to.equal(true);
        expect(img.appDesc).to.equal(undefined);
    });
});

describe("app image: fuzzing parseAppImage", () => {
    const check = (bytes: Uint8Array) => {
        try {
            const img = parseAppImage(bytes);
            expect(img.imageLength).to.be.at.most(bytes.length);
            imageInfo(bytes);
        } catch (e) {
            expect(e).to.be.instanceOf(DiagnosticError);
        }
    };
    it("random bytes (with and without the magic) never crash", () => {
        fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (b, magic) => {
            if (magic && b.length > 0) b[0] = 0xe9;
            if (magic && b.length > 1) b[1] = b[1]! % 4;
            check(b);
        }), { numRuns: 400 });
    });
    it("mutated built images (bit flips, truncation, extension) never crash", () => {
        const good = buildAppImage({ chip: "esp32h2", version: "1.0", size: 900 });
        fc.assert(fc.property(
            fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
            fc.integer({ min: 0, max: good.length }), fc.uint8Array({ maxLength: 5000 }),
            (flips, cut, tail) => {
                const m = Uint8Array.from(good);
                for (const [at, x] of flips) m[at]! ^= x;
                const b = new Uint8Array(cut + tail.length);
                b.set(m.subarray(0, cut));
                b.set(tail, cut);
                check(b);
            }), { numRuns: 300 });
    });
});
