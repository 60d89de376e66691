import { expect } from "chai";
import fc from "fast-check";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DiagnosticError } from "../esp_common/err.js";
import { parsePartitionCsv } from "../esp_partition/index.js";
import { NorFlash } from "../spi_flash/index.js";
import { describeWithVectors } from "../testing/vectors.js";
import { decryptFlashData, encryptFlashData, encryptedRanges, flashCipher, isEncryptedRegion, transparentFlash, xtsFlashCrypt } from "./index.js";

describeWithVectors("flash_encryption golden vectors (espsecure)", "esp32/flash_encryption", dir => {
    const rd = (f: string) => readFileSync(join(dir, f));
    const sums = JSON.parse(rd("sha256sums.json").toString()) as Record<string, string>;
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    const pt = rd("plaintext_8k.bin");
    it("plaintext matches its documented formula", () => {
        expect(Buffer.from(Uint8Array.from({ length: 8192 }, (_, i) => (i & 0xff) ^ ((i >> 8) & 0xff) ^ 0x5a)).equals(pt)).to.equal(true);
    });
    it("XTS-AES-256 at 0x10000 byte-for-byte, and back", () => {
        const ct = encryptFlashData(rd("key_xts_aes_256.bin"), 0x10000, pt, { aesXts: true });
        expect(Buffer.from(ct).equals(rd("xts_aes_256_at_0x10000.bin"))).to.equal(true);
        expect(Buffer.from(decryptFlashData(rd("key_xts_aes_256.bin"), 0x10000, ct, { aesXts: true })).equals(pt)).to.equal(true);
    });
    it("partial 48 B at 0x10030 equals the vector and the slice of the full output", () => {
        const ct = encryptFlashData(rd("key_xts_aes_256.bin"), 0x10030, pt.subarray(0x30, 0x60), { aesXts: true });
        expect(Buffer.from(ct).equals(rd("xts_aes_256_partial_48B_at_0x10030.bin"))).to.equal(true);
    });
    it("XTS-AES-128 and the ESP32 AES-256 scheme match the published SHA-256 of the held-back outputs", () => {
        expect(sha(encryptFlashData(rd("key_xts_aes_128.bin"), 0x10000, pt, { aesXts: true }))).to.equal(sums["xts_aes_128_at_0x10000.bin"]);
        expect(sha(encryptFlashData(rd("key_esp32_aes256.bin"), 0x10000, pt, { flashCryptConf: 0xf }))).to.equal(sums["esp32_aes256_conf0xF_at_0x10000.bin"]);
    });
    it("our own XTS (AES-ECB based) equals Node's aes-xts", () => {
        const k = rd("key_xts_aes_256.bin");
        expect(Buffer.from(xtsFlashCrypt(k, 0x10000, pt, false, { native: false })).equals(rd("xts_aes_256_at_0x10000.bin"))).to.equal(true);
    });
});

describe("flash_encryption properties and regions", () => {
    it("decrypt ∘ encrypt = id at arbitrary 16-byte aligned addresses, all schemes", () => {
        fc.assert(
            fc.property(
                fc.constantFrom(16, 24, 32, 64),
                fc.nat({ max: 0xfffff }).map(a => a * 16),
                fc.integer({ min: 1, max: 40 }).chain(n => fc.uint8Array({ minLength: n * 16, maxLength: n * 16 })),
                fc.nat({ max: 15 }),
                (klen, address, data, conf) => {
                    const key = randomBytes(klen);
                    const xts = klen !== 24 && (klen !== 32 || conf % 2 === 0);
                    const o = { aesXts: xts, flashCryptConf: conf };
                    const ct = encryptFlashData(key, address, data, o);
                    expect(Buffer.from(ct).equals(Buffer.from(data))).to.equal(false);
                    expect(Buffer.from(decryptFlashData(key, address, ct, o)).equals(Buffer.from(data))).to.equal(true);
                },
            ),
            { numRuns: 120 },
        );
    });
    it("XTS blocks are independent: encrypting a 16-byte aligned slice equals slicing the full output", () => {
        fc.assert(
            fc.property(fc.nat({ max: 15 }), fc.integer({ min: 1, max: 16 }), (startBlock, nBlocks) => {
                const key = randomBytes(32);
                const data = randomBytes(256);
                const full = xtsFlashCrypt(key, 0x20000, data, false);
                const s = startBlock * 16;
                const e = Math.min(256, s + nBlocks * 16);
                expect(Buffer.from(xtsFlashCrypt(key, 0x20000 + s, data.subarray(s, e), false)).equals(Buffer.from(full.subarray(s, e)))).to.equal(true);
            }),
            { numRuns: 50 },
        );
    });
    it("rejects misaligned addresses, lengths and wrong key sizes with a DiagnosticError", () => {
        expect(() => encryptFlashData(randomBytes(32), 0x10008, new Uint8Array(16), { aesXts: true })).to.throw(DiagnosticError);
        expect(() => encryptFlashData(randomBytes(32), 0x10000, new Uint8Array(15), { aesXts: true })).to.throw(DiagnosticError);
        expect(() => encryptFlashData(randomBytes(64), 0x10000, new Uint8Array(16), {})).to.throw(DiagnosticError);
        expect(() => encryptFlashData(randomBytes(24), 0x10000, new Uint8Array(16), { aesXts: true })).to.throw(DiagnosticError);
    });
    it("encrypted regions: bootloader, table, apps, otadata, nvs_keys, flagged ones — not NVS", () => {
        const t = parsePartitionCsv(
            "esp_secure_cert, 0x3F, , 0xd000, 0x2000, encrypted\nnvs, data, nvs, 0x10000, 0x6000,\nnvs_keys, data, nvs_keys, , 0x1000,\notadata, data, ota, , 0x2000\nphy_init, data, phy, , 0x1000,\nota_0, app, ota_0, 0x20000, 0x100000,\n",
        );
        const yes = [0x0, 0x7fff, 0x8000, 0xd000, 0x16000, 0x17000, 0x18fff, 0x20000, 0x11ffff];
        const no = [0x9000, 0x10000, 0x15fff, 0x19000, 0x120000];
        for (const a of yes) expect(isEncryptedRegion(t, a), `0x${a.toString(16)}`).to.equal(true);
        for (const a of no) expect(isEncryptedRegion(t, a), `0x${a.toString(16)}`).to.equal(false);
        expect(encryptedRanges(t).map(r => r.what)).to.deep.equal(["bootloader", "partition_table", "esp_secure_cert", "nvs_keys", "otadata", "ota_0"]);
    });
    it("transparent view: plaintext in, ciphertext on the chip, plaintext out", () => {
        const flash = new NorFlash({ size: 2 << 20, seed: 3 });
        const key = randomBytes(32);
        const cipher = flashCipher(key, true);
        const view = transparentFlash(flash, cipher, a => a >= 0x20000 && a < 0x30000);
        const data = randomBytes(256);
        view.write(0x20000, data);
        expect(Buffer.from(flash.read(0x20000, 256)).equals(Buffer.from(xtsFlashCrypt(key, 0x20000, data, false)))).to.equal(true);
        expect(Buffer.from(view.read(0x20010, 100)).equals(data.subarray(0x10, 0x10 + 100))).to.equal(true);
        view.write(0x9000, Uint8Array.of(1, 2, 3));
        expect([...flash.read(0x9000, 3)]).to.deep.equal([1, 2, 3]);
        expect(() => view.write(0x20101, Uint8Array.of(1))).to.throw(DiagnosticError);
    });
});
