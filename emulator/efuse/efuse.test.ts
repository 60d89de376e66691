import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DiagnosticError } from "../esp_common/err.js";
import { describeWithVectors } from "../testing/vectors.js";
import { CHIPS, Efuses } from "./index.js";

describeWithVectors("efuse burn-key byte order (espefuse)", "esp32/flash_encryption", dir => {
    const rd = (f: string) => new Uint8Array(readFileSync(join(dir, f)));
    it("XTS-AES-256 key splits over KEY_1/KEY_2 blocks byte-reversed; the derived key is the key file", () => {
        const e = new Efuses("esp32s3");
        const key = rd("key_xts_aes_256.bin");
        e.burnKey(0, key.subarray(0, 32), "XTS_AES_256_KEY_1");
        e.burnKey(1, key.subarray(32), "XTS_AES_256_KEY_2");
        const j = e.toSummaryJson({ includeProtected: true });
        const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").match(/../g)!.join(" ");
        expect(j.BLOCK_KEY0!.raw).to.equal(hex(rd("efuse_BLOCK_KEYa_XTS_AES_256_KEY_1.bin")));
        expect(j.BLOCK_KEY1!.raw).to.equal(hex(rd("efuse_BLOCK_KEYb_XTS_AES_256_KEY_2.bin")));
        expect(j.BLOCK_KEY0!.value).to.match(/^\?\? /);
        const back = Efuses.fromSummaryJson(JSON.stringify(j), "esp32s3");
        expect(Buffer.from(back.flashEncryptionKey()!.key).equals(Buffer.from(key))).to.equal(true);
    });
    it("XTS-AES-128 key block", () => {
        const e = new Efuses("esp32c3");
        e.burnKey("BLOCK_KEY3", rd("key_xts_aes_128.bin"), "XTS_AES_128_KEY", { readProtect: false });
        expect(Buffer.from(e.getBytes("BLOCK_KEY3")!).equals(Buffer.from(rd("efuse_BLOCK_KEYn_XTS_AES_128_KEY.bin")))).to.equal(true);
        expect(e.flashEncryptionKey()).to.deep.include({ scheme: "xts-aes-128" });
        expect(Buffer.from(e.flashEncryptionKey()!.key).equals(Buffer.from(rd("key_xts_aes_128.bin")))).to.equal(true);
    });
});

describe("efuse model", () => {
    it("burning only sets bits; clearing, overflow and write-protected fields are errors", () => {
        const e = new Efuses("esp32c3");
        e.burn("SPI_BOOT_CRYPT_CNT", 1);
        expect(e.flashEncryptionEnabled()).to.equal(true);
        expect(() => e.burn("SPI_BOOT_CRYPT_CNT", 2)).to.throw(DiagnosticError).with.property("code", "ESP_ERR_EFUSE_REPEATED_PROG");
        e.burn("SPI_BOOT_CRYPT_CNT", 3);
        expect(e.flashEncryptionEnabled()).to.equal(false);
        expect(() => e.burn("SPI_BOOT_CRYPT_CNT", 8)).to.throw(DiagnosticError).with.property("code", "ESP_ERR_INVALID_ARG");
        e.writeProtect("SECURE_VERSION");
        expect(() => e.burn("SECURE_VERSION", 1)).to.throw(DiagnosticError).with.property("code", "ESP_ERR_EFUSE");
        expect(() => e.burnKey(0, new Uint8Array(32), "USER")).to.throw(DiagnosticError);
        expect(() => e.burn("NO_SUCH", 1)).to.throw(DiagnosticError).with.property("code", "ESP_ERR_NOT_FOUND");
    });
    it("development vs release flash encryption mode", () => {
        for (const chip of CHIPS) {
            const e = new Efuses(chip);
            expect(e.flashEncryptionMode()).to.equal("disabled");
            e.enableFlashEncryption();
            expect(e.flashEncryptionMode(), chip).to.equal("development");
            e.enableFlashEncryption("release");
            expect(e.flashEncryptionMode(), chip).to.equal("release");
        }
    });
    it("secure boot digests skip revoked slots; secure version is the popcount and only rises", () => {
        const e = new Efuses("esp32c6");
        const d = (n: number) => new Uint8Array(32).fill(n);
        e.burnKey(0, d(1), "SECURE_BOOT_DIGEST0");
        e.burnKey(1, d(2), "SECURE_BOOT_DIGEST1");
        e.burnKey(2, d(3), "SECURE_BOOT_DIGEST2");
        e.revokeSecureBootKey(1);
        expect(e.secureBootDigests().map(x => [x.index, x.digest[0]])).to.deep.equal([[0, 1], [2, 3]]);
        expect(() => e.burnKey(0, d(9), "SECURE_BOOT_DIGEST0")).to.throw(DiagnosticError).with.property("code", "ESP_ERR_EFUSE_REPEATED_PROG");
        e.updateSecureVersion(3);
        e.updateSecureVersion(1);
        expect(e.secureVersion()).to.equal(3);
        expect(e.getInt("SECURE_VERSION")).to.equal(0b111n);
        const esp32 = new Efuses("esp32");
        esp32.burnKey("BLOCK2", d(7), "secure_boot_v2");
        expect(esp32.secureBootDigests()[0]!.digest[0]).to.equal(7);
    });
    it("summary JSON round trip and espefuse-style meanings on load", () => {
        const e = new Efuses("esp32h2");
        e.burn("SECURE_BOOT_EN", true);
        e.updateSecureVersion(2);
        const j = e.toSummaryJson();
        expect(j.SPI_BOOT_CRYPT_CNT).to.include({ efuse_type: "uint:3", bit_len: 3, block: 0 });
        const back = Efuses.fromSummaryJson(JSON.stringify(j), "esp32h2");
        expect(back.toSummaryJson()).to.deep.equal(j);
        const loose = Efuses.fromSummaryJson({ SPI_BOOT_CRYPT_CNT: { value: "Enable" }, SECURE_BOOT_EN: { value: "True" }, KEY_PURPOSE_0: { value: "XTS_AES_128_KEY" }, UNKNOWN_THING: { value: 5 } });
        expect(loose.flashEncryptionEnabled()).to.equal(true);
        expect(loose.secureBootEnabled()).to.equal(true);
        expect(loose.toSummaryJson().UNKNOWN_THING).to.deep.equal({ value: 5 });
        expect(Efuses.fromSummaryJson({ FLASH_CRYPT_CNT: { value: 1 } }).chip.name).to.equal("esp32");
    });
    it("summary positions match espefuse (esptool efuse_defs/esp32.yaml, esp32c3.yaml, esp32h2.yaml)", () => {
        const pos = (chip: "esp32" | "esp32c3" | "esp32h2", name: string) => {
            const e = new Efuses(chip).toSummaryJson()[name]!;
            return [e.block, e.word, e.pos, e.bit_len];
        };
        expect(pos("esp32", "FLASH_CRYPT_CNT")).to.deep.equal([0, 0, 20, 7]);
        expect(pos("esp32", "FLASH_CRYPT_CONFIG")).to.deep.equal([0, 5, 28, 4]);
        expect(pos("esp32", "DISABLE_DL_CACHE")).to.deep.equal([0, 6, 9, 1]);
        expect(pos("esp32", "SECURE_VERSION")).to.deep.equal([3, 4, 0, 32]);
        expect(pos("esp32c3", "SPI_BOOT_CRYPT_CNT")).to.deep.equal([0, 2, 18, 3]);
        expect(pos("esp32c3", "KEY_PURPOSE_5")).to.deep.equal([0, 3, 12, 4]);
        expect(pos("esp32c3", "SECURE_VERSION")).to.deep.equal([0, 4, 14, 16]);
        expect(pos("esp32h2", "SECURE_VERSION")).to.deep.equal([0, 4, 9, 16]);
    });
    it("fuzz: random JSON documents load or fail with a DiagnosticError", () => {
        const names = ["SPI_BOOT_CRYPT_CNT", "BLOCK_KEY0", "KEY_PURPOSE_1", "SECURE_VERSION", "FLASH_CRYPT_CNT", "SECURE_BOOT_EN", "X"];
        const val = fc.oneof(fc.boolean(), fc.integer(), fc.double(), fc.string(), fc.constant("?? ??"), fc.constant(null), fc.array(fc.nat()), fc.uint8Array({ minLength: 32, maxLength: 32 }).map(b => Buffer.from(b).toString("hex").match(/../g)!.join(" ")));
        const doc = fc.dictionary(fc.constantFrom(...names), fc.oneof(fc.record({ value: val, readable: fc.oneof(fc.boolean(), fc.string()) }, { requiredKeys: [] }), val));
        fc.assert(
            fc.property(fc.oneof(doc.map(d => JSON.stringify(d)), fc.string(), doc), input => {
                try {
                    Efuses.fromSummaryJson(input).toSummaryJson();
                } catch (e) {
                    expect(e).to.be.instanceOf(DiagnosticError);
                }
            }),
            { numRuns: 400 },
        );
    });
});
