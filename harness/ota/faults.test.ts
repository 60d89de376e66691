/**
 * The faults that brick devices in the field, over real UDP on loopback, deterministic (fixed flash seed, fixed
 * power-loss op indexes). One plain device and one Secure Boot V2 + anti-rollback device share one provider.
 */
import { generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import { Logger, LogLevel } from "@matter/main";
import { keyDigest, loadSigningKey, publicKeyInfo, signImage } from "../../emulator/bootloader_support/index.js";
import { Efuses } from "../../emulator/efuse/index.js";
import { appImage, CHIP, makeChip, makeOtaFixture, otaFile, type OtaFixture } from "./testing.js";
import { OtaProvider, type ProviderFaults } from "./provider.js";
import { performOta, VirtualOtaDevice, type OtaOutcome } from "./ota.js";

const OTADATA = 0xf000;

describe("harness/ota: OTA faults end in a bootable device (real UDP on loopback)", function () {
    this.timeout(20000);
    let fx: OtaFixture;
    let provider: OtaProvider;

    before(async () => {
        Logger.level = LogLevel.ERROR;
        fx = await makeOtaFixture();
        provider = await OtaProvider.start();
    });
    after(async () => {
        await provider?.close();
        await fx?.cleanup();
    });

    async function serve(images: Uint8Array[], faults: ProviderFaults = {}) {
        provider.clearImages();
        provider.faults = faults;
        await provider.addImages(images);
    }

    /** otadata bytes and the flash op counter: both unchanged means nothing was written anywhere. */
    function snapshot(dev: VirtualOtaDevice) {
        return { otadata: dev.chip.flashReadRaw(OTADATA, 0x2000), ops: dev.chip.flash.opCount };
    }

    describe("plain device (rollback enabled)", () => {
        let dev: VirtualOtaDevice;
        let nodeId: bigint;
        const v2 = () => otaFile(fx, appImage(2, { size: 24 * 1024 }), 2);

        before(async () => {
            dev = new VirtualOtaDevice({ chip: makeChip(fx, { seed: 7 }) });
            expect((await dev.powerOn()).ok).to.equal(true);
            nodeId = await provider.commission({ address: { ip: "127.0.0.1", port: dev.port! }, passcode: fx.passcode });
        });
        after(async () => {
            await dev?.powerOff();
        });

        function expectOld(r: OtaOutcome) {
            expect(r.bootSlot, r.detail).to.equal("ota_0");
            expect(r.softwareVersionAfter, "still reachable over CASE, reads SoftwareVersion 1").to.equal(1);
            expect(dev.running!.commissionedFabrics).to.equal(1);
        }

        it("wrong ProductID → QueryImage NotAvailable; nothing written", async () => {
            await serve([otaFile(fx, appImage(2), 2, { productId: 0x8001 })]);
            const s = snapshot(dev);
            const r = await performOta(provider, dev, nodeId);
            expect([r.status, r.code]).to.deep.equal(["not-available", "NotAvailable"]);
            expect(r.detail).to.contain("ProductIdMismatch");
            expect(snapshot(dev)).to.deep.equal(s);
            expectOld(r);
        });

        it("downgrade: NotAvailable from the provider; a misbehaving provider's offer is ignored by the requestor", async () => {
            await serve([otaFile(fx, appImage(1), 1)]);
            const s = snapshot(dev);
            const r = await performOta(provider, dev, nodeId);
            expect([r.status, r.code]).to.deep.equal(["not-available", "NotAvailable"]);
            expect(r.detail).to.contain("NotNewer");
            await serve([otaFile(fx, appImage(1), 1)], { serveAnything: true });
            const r2 = await performOta(provider, dev, nodeId);
            expect([r2.status, r2.code]).to.deep.equal(["refused", "NotNewer"]);
            expect(snapshot(dev)).to.deep.equal(s);
            expectOld(r2);
        });

        it("a served image for another product is refused by the device itself (ProductIdMismatch), otadata untouched", async () => {
            await serve([otaFile(fx, appImage(2), 2, { productId: 0x8001 })], { serveAnything: true });
            const s = snapshot(dev);
            const r = await performOta(provider, dev, nodeId);
            expect([r.status, r.code]).to.deep.equal(["refused", "ProductIdMismatch"]);
            expect(dev.chip.flashReadRaw(OTADATA, 0x2000)).to.deep.equal(s.otadata);
            expect(dev.chip.flash.opCount, "refused on the header: nothing erased").to.equal(s.ops);
            expectOld(r);
        });

        it("a bit flipped in transfer → DigestMismatch after the payload was streamed; otadata untouched, old image runs", async () => {
            const file = v2();
            await serve([file], { flipBitAt: file.length - 100 });
            const s = snapshot(dev);
            const r = await performOta(provider, dev, nodeId);
            expect([r.status, r.code]).to.deep.equal(["refused", "DigestMismatch"]);
            expect(dev.chip.flash.opCount, "the slot was written").to.be.greaterThan(s.ops);
            expect(dev.chip.flashReadRaw(OTADATA, 0x2000)).to.deep.equal(s.otadata);
            expectOld(r);
        });

        for (const op of [1, 2, 4]) {
            it(`power loss at flash op ${op} of the transfer → reboots into the old image, still operational`, async () => {
                await serve([v2()]);
                const s = snapshot(dev);
                const r = await performOta(provider, dev, nodeId, { powerLossAtOp: op });
                expect([r.status, r.code], r.detail).to.deep.equal(["power-loss", "POWER_LOSS"]);
                expect(dev.chip.flashReadRaw(OTADATA, 0x2000)).to.deep.equal(s.otadata);
                expectOld(r);
            });
        }

        for (const op of [1, 2]) {
            it(`power loss in esp_ota_set_boot_partition (${op === 1 ? "otadata sector erase" : "otadata entry write"}) → old image`, async () => {
                await serve([v2()]);
                const r = await performOta(provider, dev, nodeId, { powerLossInOtadataAtOp: op });
                expect([r.status, r.code], r.detail).to.deep.equal(["power-loss", "POWER_LOSS"]);
                expect(r.events.map(e => e.kind)).to.include("installed");
                expectOld(r);
            });
        }

        it("a clean update afterwards: ota_1, VALID, VersionApplied, NotifyUpdateApplied", async () => {
            await serve([v2()]);
            const applied = provider.applied.length;
            const ops = dev.chip.flash.opCount;
            const r = await performOta(provider, dev, nodeId);
            expect(dev.chip.flash.opCount - ops, "more flash ops than the power-loss indexes above").to.be.greaterThan(4 + 2);
            expect(r.status, r.detail).to.equal("updated");
            expect([r.bootSlot, r.softwareVersionAfter]).to.deep.equal(["ota_1", 2]);
            expect(r.otadata!.join(" ")).to.contain("VALID");
            expect(r.events.map(e => e.kind)).to.include("version-applied");
            const t = Date.now();
            while (provider.applied.length === applied && Date.now() - t < 3000) await new Promise(res => setTimeout(res, 10));
            expect(provider.applied.at(-1)?.softwareVersion).to.equal(2);
        });

        it("self-test fails after the reboot → INVALID, the bootloader rolls back to the previous slot", async () => {
            await serve([otaFile(fx, appImage(3, { size: 16 * 1024 }), 3)]);
            const r = await performOta(provider, dev, nodeId, { selfTest: () => false });
            expect([r.status, r.code], r.detail).to.deep.equal(["rolled-back", "SelfTestFailed"]);
            expect([r.bootSlot, r.softwareVersionAfter]).to.deep.equal(["ota_1", 2]);
            // the next boot stays there
            await dev.restart();
            expect(dev.bootSlot).to.equal("ota_1");
            expect(dev.softwareVersion).to.equal(2);
        });
    });

    describe("Secure Boot V2 + anti-rollback device (eFuse SECURE_VERSION 2)", () => {
        const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
        const pem = privateKey.export({ format: "pem", type: "pkcs8" }) as string;
        const key = loadSigningKey(pem);
        const signed = (version: number, secureVersion: number) => signImage(appImage(version, { secureVersion }), [key]);
        let dev: VirtualOtaDevice;
        let nodeId: bigint;

        before(async () => {
            const efuses = new Efuses(CHIP);
            efuses.burnKey(0, keyDigest(publicKeyInfo(pem)), "SECURE_BOOT_DIGEST0");
            efuses.burn("SECURE_BOOT_EN", true);
            efuses.updateSecureVersion(2);
            dev = new VirtualOtaDevice({ chip: makeChip(fx, { app: signed(1, 2), efuses, seed: 9 }), boot: { antiRollback: true } });
            const fw = await dev.powerOn();
            expect(fw.ok, fw.error?.message).to.equal(true);
            nodeId = await provider.commission({ address: { ip: "127.0.0.1", port: dev.port! }, passcode: fx.passcode });
        });
        after(async () => {
            await dev?.powerOff();
        });

        it("an unsigned image is refused at esp_ota_end (Secure boot signature), otadata untouched", async () => {
            await serve([otaFile(fx, appImage(2, { secureVersion: 2 }), 2)]);
            const s = snapshot(dev);
            const r = await performOta(provider, dev, nodeId);
            expect([r.status, r.code], r.detail).to.deep.equal(["refused", "ESP_ERR_IMAGE_INVALID"]);
            expect(dev.chip.flashReadRaw(OTADATA, 0x2000)).to.deep.equal(s.otadata);
            expect([r.bootSlot, r.softwareVersionAfter]).to.deep.equal(["ota_0", 1]);
        });

        it("a signed image with secure_version 1 < eFuse 2 is refused by esp_ota_set_boot_partition", async () => {
            await serve([otaFile(fx, signed(2, 1), 2)]);
            const s = snapshot(dev);
            const r = await performOta(provider, dev, nodeId);
            expect([r.status, r.code], r.detail).to.deep.equal(["refused", "ESP_ERR_OTA_SMALL_SEC_VER"]);
            expect(dev.chip.flashReadRaw(OTADATA, 0x2000)).to.deep.equal(s.otadata);
            expect([r.bootSlot, r.softwareVersionAfter]).to.deep.equal(["ota_0", 1]);
        });

        it("a signed image with secure_version 3 updates; VALID raises the eFuse on the next boot", async () => {
            await serve([otaFile(fx, signed(2, 3), 2)]);
            const r = await performOta(provider, dev, nodeId);
            expect(r.status, r.detail).to.equal("updated");
            expect([r.bootSlot, r.softwareVersionAfter]).to.deep.equal(["ota_1", 2]);
            await dev.restart();
            expect(dev.chip.efuses.secureVersion()).to.equal(3);
        });
    });
});
