/** diagnose finds the cause planted in flash images of the scenario catalogue (made with the scenarios API). */
import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ESP_MATTER_PARTITIONS_CSV } from "../../emulator/esp32/index.js";
import { LineResources, ProductionLine, type Device } from "../../scenarios/lib/index.js";
import { runCli } from "../cli/testing.js";
import { diagnose, findFactoryImages } from "./index.js";

const NO_FCTRY = ESP_MATTER_PARTITIONS_CSV.replace(/^fctry,.*\n/m, "");

describe("diagnose", function () {
    this.timeout(60_000);
    const resources = new LineResources({ iterationCount: 1000 });
    const line = new ProductionLine(resources, "diagnose", () => undefined);
    let plain: Device;
    let encrypted: Device;
    before(async () => {
        plain = await line.device();
        encrypted = await line.device({ encrypt: true });
    });
    after(async () => {
        await line.close();
        await resources.close();
    });

    it("esp-matter#443: no fctry row, factory image at 0x3E0000 → ESP_ERR_NVS_PART_NOT_FOUND, image located", async () => {
        const { image } = plain.flash({ partitions: NO_FCTRY, factoryAt: 0x3e0000 });
        expect(findFactoryImages(image)).to.deep.equal([0x3e0000]);
        const r = await diagnose(image);
        expect(r.ok).to.equal(false);
        expect(r.findings[0]!.code).to.equal("ESP_ERR_NVS_PART_NOT_FOUND");
        expect(r.findings[0]!.cause).to.contain("0x3e0000");
        expect(r.findings[0]!.issues).to.include("esp-matter#443");
    });

    it("esp-matter#1054: fctry blank, image flashed at 0x3F0000 → NOT_FOUND, wrong offset named", async () => {
        const r = await diagnose(plain.flash({ factoryAt: 0x3f0000 }).image);
        expect(r.findings.map(f => f.code)).to.deep.equal(["ESP_ERR_NVS_NOT_FOUND"]);
        expect(r.findings[0]!.cause).to.match(/blank.*0x3f0000/);
    });

    it("esp-matter#808: plaintext image on an NVS-encryption device → NOT_FOUND, plaintext named", async () => {
        const r = await diagnose(plain.flash({ nvsEncryption: true }).image);
        expect(r.findings[0]!.code).to.equal("ESP_ERR_NVS_NOT_FOUND");
        expect(r.findings[0]!.issues).to.include("esp-matter#808");
    });

    it("esp-idf#9287: plaintext nvs_keys on a flash-encrypted chip → CORRUPT_KEY_PART, --encrypt named", async () => {
        const { image, efuses } = encrypted.flash({ flashEncryption: true, nvsKeysPlaintext: true });
        const r = await diagnose(image, { efuses: efuses.toSummaryJson({ includeProtected: true }) });
        expect(r.flashEncryption).to.equal(true);
        expect(r.findings[0]!.code).to.equal("ESP_ERR_NVS_CORRUPT_KEY_PART");
        expect(r.findings[0]!.cause).to.contain("--encrypt");
    });

    it("a good flash: no findings, secrets redacted, wrong label passcode predicted, then a real commissioning", async () => {
        const { image } = encrypted.flash();
        const trust = line.pki.trustStore();
        const bad = await diagnose(image, { code: "34970112332", trust, allowTestKeys: true, commission: false });
        expect(bad.findings.map(f => f.code)).to.include("PaseKeyConfirmationFailed");
        const r = await diagnose(image, { code: encrypted.label.qrCode!, trust, allowTestKeys: true });
        expect(r.findings).to.deep.equal([]);
        expect(r.commissioning.ok, r.commissioning.detail).to.equal(true);
        const key = Buffer.from(encrypted.factory.get("dac-key") as Uint8Array).toString("hex");
        expect(JSON.stringify(r)).not.to.contain(key.slice(0, 16));
        expect(r.factory!.entries.find(e => e.key === "dac-key")!.value).to.match(/redacted/);
        expect((await diagnose(image, { trust: { ...trust, paas: [] }, allowTestKeys: true })).findings[0]!.code).to.equal("PaaNotFound");
    });

    describe("finds the planted cause in the catalogue's other images", () => {
        it("discriminator missing (esp-matter#1054) → ESP_ERR_NVS_NOT_FOUND naming the key", async () => {
            const dev = await line.device({ discriminator: 0x123 });
            dev.factory.delete("discriminator");
            const r = await diagnose(dev.flash().image);
            expect(r.findings[0]!.code).to.equal("ESP_ERR_NVS_NOT_FOUND");
            expect(r.findings[0]!.message).to.contain("discriminator");
        });

        it("discriminator written as u16 → ESP_ERR_NVS_TYPE_MISMATCH", async () => {
            const dev = await line.device({ discriminator: 0x124 });
            dev.factory.set("discriminator", 0x124, "u16");
            const r = await diagnose(dev.flash().image);
            expect(r.findings[0]!.code).to.equal("ESP_ERR_NVS_TYPE_MISMATCH");
        });

        it("DAC in esp_secure_cert, firmware reads NVS (esp-matter#574) → NOT_FOUND reading dac-cert", async () => {
            const dev = await line.device({ dacInSecureCert: true });
            const r = await diagnose(dev.flash().image);
            expect(r.findings[0]!.code).to.equal("ESP_ERR_NVS_NOT_FOUND");
            expect(r.findings[0]!.message).to.contain("dac-cert");
        });

        it("NVS keys regenerated after the image was encrypted (esp-idf#5747) → NOT_FOUND on every read", async () => {
            const dev = await line.device({ encrypt: true, discriminator: 0x125 });
            dev.regenerateNvsKeys();
            const r = await diagnose(dev.flash().image);
            expect(r.findings[0]!.code).to.equal("ESP_ERR_NVS_NOT_FOUND");
        });

        it("CD for another vendor (esp-matter#185) → CertificationDeclarationInvalidVendorId", async () => {
            const dev = await line.device({ discriminator: 0x126 });
            dev.replaceCd({ vendorId: 0xfff2 });
            const r = await diagnose(dev.flash().image, { code: dev.label.qrCode!, trust: line.pki.trustStore(), allowTestKeys: true, commission: false });
            expect(r.findings.map(f => f.code)).to.include("CertificationDeclarationInvalidVendorId");
        });

        it("expired DAC → DacExpired", async () => {
            const dev = await line.device({ discriminator: 0x127 });
            dev.reissueDac({ notBefore: new Date(Date.UTC(2020, 0, 1)), notAfter: new Date(Date.UTC(2021, 0, 1)) });
            const r = await diagnose(dev.flash().image, { code: dev.label.qrCode!, trust: line.pki.trustStore(), allowTestKeys: true, commission: false });
            expect(r.findings.map(f => f.code)).to.include("DacExpired");
        });
    });

    it("a bare NVS-encrypted partition without its keys → NOT_FOUND, named NVS-encrypted; other unreadable bytes are not called encrypted", async () => {
        const r = await diagnose(encrypted.factory.bytes);
        expect(r.input).to.equal("partition");
        expect(r.findings[0]!.code).to.equal("ESP_ERR_NVS_NOT_FOUND");
        expect(r.findings[0]!.cause).to.match(/NVS-encrypted \(pass --keys/);
        // the same size of bytes with no NVS page in it (e.g. another partition dumped at this offset)
        const junk = new Uint8Array(encrypted.factory.bytes.length).map((_, i) => (i * 151 + 7) & 0xff);
        const j = await diagnose(junk);
        expect(j.findings[0]!.cause ?? "").to.not.match(/NVS-encrypted/);
    });

    it("CLI: a bare plaintext partition read with keys → exit 1 naming esp-matter#808; unreadable input → exit 2", async () => {
        const dir = await mkdtemp(join(tmpdir(), "mfgsim-diag-"));
        try {
            await writeFile(join(dir, "p.bin"), plain.factory.bytes);
            await writeFile(join(dir, "k.bin"), encrypted.nvsKeys!);
            const r = await runCli(["diagnose", "p.bin", "--keys", "k.bin", "--json"], { cwd: dir });
            expect(r.code, r.stderr).to.equal(1);
            const doc = JSON.parse(r.stdout);
            expect(doc.input).to.equal("partition");
            expect(doc.findings[0].code).to.equal("ESP_ERR_NVS_NOT_FOUND");
            expect(doc.findings[0].issues).to.include("esp-matter#808");
            const missing = await runCli(["diagnose", "nope.bin"], { cwd: dir });
            expect(missing.code).to.equal(2);
            expect(missing.stderr.trim().split("\n")).to.have.length(1);
        } finally {
            await rm(dir, { recursive: true, force: true });
        }
    });
});
