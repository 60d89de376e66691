import { expect } from "chai";
import fc from "fast-check";
import { buildAppImage } from "./image_format.js";
import { verifyImage } from "./image_verify.js";
import { keyDigest, loadSigningKey, publicKeyInfo, signImage } from "./secure_boot_v2.js";
import { testKeys } from "./testing.js";

describe("verifyImage (esp_image_verify)", function () {
    this.timeout(60_000);
    const app = buildAppImage({ chip: "esp32c3", version: "1.4.0", secureVersion: 3, matterSoftwareVersion: 0x00010400 });

    it("accepts a good image: app descriptor, secure version, image length, ESP-IDF style segment log", () => {
        const r = verifyImage(app, { chip: "esp32c3", partitionSize: 0x100000, partitionOffset: 0x20000 });
        expect(r.ok, r.reason).to.equal(true);
        expect(r.imageLength).to.equal(app.length);
        expect(r.secureVersion).to.equal(3);
        expect(r.appDesc).to.include({ version: "1.4.0", matterSoftwareVersion: 0x10400 });
        expect(r.log.map(l => l.message)).to.deep.equal([
            "segment 0: paddr=00020020 vaddr=3c000020 size=00140h (   320) map",
            "segment 1: paddr=00020168 vaddr=40380000 size=00080h (   128) load",
        ]);
    });

    it("bad magic: erased partition", () => {
        const r = verifyImage(new Uint8Array(0x1000).fill(0xff), { partitionOffset: 0x110000 });
        expect(r).to.include({ ok: false, code: "ESP_ERR_IMAGE_INVALID", reason: "image at 0x110000 has invalid magic byte (nothing flashed here?)" });
        expect(verifyImage(new Uint8Array(0)).ok).to.equal(false);
    });

    it("chip id and chip revision", () => {
        expect(verifyImage(app, { chip: "esp32s3" }).reason).to.equal("mismatch chip ID, expected 9, found 5");
        expect(verifyImage(app, { chip: "esp32c3", chipRevision: 2 }).reason).to.equal("Can't run on lower chip revision, expected 0.3, found 0.2");
        expect(verifyImage(app, { chip: "esp32c3", chipRevision: 4 }).ok).to.equal(true);
        expect(verifyImage(app, { chip: "esp32c3", chipRevision: 200 }).reason).to.equal("Image requires chip rev <= v1.99, but chip is v2.0");
    });

    it("eFuse block revision window from esp_app_desc_t", () => {
        const img = buildAppImage({ chip: "esp32c6", version: "1", minEfuseBlkRevFull: 1, maxEfuseBlkRevFull: 99 });
        expect(verifyImage(img, { efuseBlockRevision: 0 }).reason).to.equal("Image requires efuse blk rev >= v0.1, but chip is v0.0");
        expect(verifyImage(img, { efuseBlockRevision: 100 }).reason).to.equal("Image requires efuse blk rev <= v0.99, but chip is v1.0");
        expect(verifyImage(img, { efuseBlockRevision: 50 }).ok).to.equal(true);
    });

    it("checksum and hash failures", () => {
        const c = Uint8Array.from(app);
        c[0x150]! ^= 0x10;
        const expected = app[app.length - 33]! ^ 0x10;
        expect(verifyImage(c).reason).to.equal(`Checksum failed. Calculated 0x${expected.toString(16)} read 0x${app[app.length - 33]!.toString(16)}`);
        const h = Uint8Array.from(app);
        h[app.length - 1]! ^= 1;
        expect(verifyImage(h).reason).to.equal("Image hash failed - image is corrupt");
    });

    it("flash-mapped segment must keep its offset within the MMU page", () => {
        const r = verifyImage(app, { partitionOffset: 0x20004 });
        expect(r.reason).to.equal("Segment 0 load address 0x3c000020, doesn't match data 0x00020024");
    });

    it("size must fit the partition (with padding and signature sector when secure boot is on)", () => {
        expect(verifyImage(app, { partitionSize: app.length - 16 }).reason).to.equal(`Image length ${app.length} doesn't fit in partition length ${app.length - 16}`);
        const key = loadSigningKey(testKeys().ec0);
        const signed = signImage(app, [key]);
        const trust = { digests: [keyDigest(publicKeyInfo(testKeys().ec0))] };
        expect(verifyImage(signed, { secureBoot: trust, partitionSize: 0x1000 }).reason).to.equal("Image length 8192 doesn't fit in partition length 4096");
        const ok = verifyImage(signed, { secureBoot: trust, partitionSize: 0x2000 });
        expect(ok.ok, ok.reason).to.equal(true);
        expect(ok.imageLength).to.equal(8192);
        expect(verifyImage(app, { partitionSize: 16 * 1024 * 1024 + 1 })).to.include({ code: "ESP_ERR_INVALID_ARG" });
    });

    it("secure boot: good signature, untrusted key, unsigned image, erased-flash padding", () => {
        const pems = testKeys();
        const signed = signImage(app, [loadSigningKey(pems.ec0)]);
        const trusted = { digests: [keyDigest(publicKeyInfo(pems.ec0))] };
        const good = verifyImage(signed, { secureBoot: trusted, chip: "esp32c3" });
        expect(good.ok, good.reason).to.equal(true);
        expect(good.signature).to.include({ valid: true, block: 0 });
        const bad = verifyImage(signed, { secureBoot: { digests: [keyDigest(publicKeyInfo(pems.ec1))] } });
        expect(bad.ok).to.equal(false);
        expect(bad.reason).to.match(/^Secure boot signature verification failed: .*key digest does not match/);
        expect(bad.log.map(l => l.message)).to.include("image valid, signature bad");
        const unsigned = verifyImage(app, { secureBoot: trusted });
        expect(unsigned.reason).to.match(/no signature blocks/);
        // the image as a whole partition read: more 0xFF after the sector changes nothing
        const partition = new Uint8Array(0x10000).fill(0xff);
        partition.set(signed);
        expect(verifyImage(partition, { secureBoot: trusted, partitionSize: 0x10000 }).ok).to.equal(true);
        // corrupted image with secure boot: the simple hash check tells "corrupted on flash"
        // (the same bit flipped in two bytes of one segment keeps the XOR checksum right)
        const t2 = Uint8Array.from(signed);
        t2[0x40]! ^= 1; t2[0x44]! ^= 1;
        const r2 = verifyImage(t2, { secureBoot: trusted });
        expect(r2.reason).to.match(/image digest mismatch/);
        expect(r2.log.map(l => l.message)).to.include("image corrupted on flash");
    });

    it("fuzz: never throws, whatever the bytes", () => {
        const trust = { digests: [new Uint8Array(32)] };
        fc.assert(fc.property(fc.uint8Array({ maxLength: 800 }), fc.array(fc.tuple(fc.nat(app.length - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }), fc.boolean(), (rnd, flips, useApp) => {
            const b = useApp ? Uint8Array.from(app) : rnd;
            if (useApp) for (const [at, x] of flips) b[at]! ^= x;
            const r = verifyImage(b, { secureBoot: trust, partitionSize: 0x100000 });
            expect(r.ok).to.equal(false);
            expect(r.reason).to.be.a("string");
            const r2 = verifyImage(b);
            const changed = b.length !== app.length || b.some((x, i) => x !== app[i]);
            expect(r2.ok).to.equal(!changed); // any change to a hashed image is noticed
        }), { numRuns: 200 });
    });
});
