import { expect } from "chai";
import { Logger, LogLevel } from "@matter/main";
import { appImage, commissionedDevice, makeOtaFixture, otaFile, type OtaFixture } from "./testing.js";
import { OtaProvider } from "./provider.js";
import { performOta, VirtualOtaDevice } from "./ota.js";

describe("harness/ota: Matter OTA on the virtual ESP32 (real UDP on loopback)", function () {
    this.timeout(30000);
    let fx: OtaFixture;
    let provider: OtaProvider;
    let dev: VirtualOtaDevice;
    let nodeId: bigint;

    before(async () => {
        Logger.level = LogLevel.ERROR;
        fx = await makeOtaFixture();
        provider = await OtaProvider.start();
        ({ dev, nodeId } = await commissionedDevice(fx, provider));
    });
    after(async () => {
        await dev?.powerOff();
        await provider?.close();
        await fx?.cleanup();
    });

    it("wrong VendorID → QueryImage NotAvailable, otadata and slot untouched", async () => {
        provider.clearImages();
        await provider.addImages([otaFile(fx, appImage(2), 2, { vendorId: 0xfff2 })]);
        const otadata = dev.chip.flashReadRaw(0xf000, 0x2000);
        const ops = dev.chip.flash.opCount;
        const r = await performOta(provider, dev, nodeId);
        expect(r.status).to.equal("not-available");
        expect(r.code).to.equal("NotAvailable");
        expect(r.detail).to.contain("VendorIdMismatch");
        expect(dev.chip.flashReadRaw(0xf000, 0x2000)).to.deep.equal(otadata);
        expect(dev.chip.flash.opCount).to.equal(ops);
        expect(r.softwareVersionAfter).to.equal(1);
    });

    it("a v2 image: BDX into ota_1, reboot through the bootloader, self-test, VALID; same fabric, SoftwareVersion 2", async () => {
        provider.clearImages();
        await provider.addImages([otaFile(fx, appImage(2, { size: 64 * 1024 }), 2)]);
        const r = await performOta(provider, dev, nodeId);
        expect(r.status, r.detail).to.equal("updated");
        expect(r.softwareVersionAfter).to.equal(2);
        expect(r.bootSlot).to.equal("ota_1");
        expect(dev.running!.commissionedFabrics).to.equal(1);
        expect(r.timings.bdxBytes).to.be.greaterThan(64 * 1024);
        // matter.js's requestor, started with the node, saw its persisted update and the new SoftwareVersion
        expect(r.events.map(e => e.kind)).to.include("version-applied");
        const start = Date.now();
        while (provider.applied.length === 0 && Date.now() - start < 3000) await new Promise(res => setTimeout(res, 10));
        expect(provider.applied.map(a => a.softwareVersion)).to.deep.equal([2]);
        // the next boot keeps the confirmed slot
        await dev.restart();
        expect(dev.bootSlot).to.equal("ota_1");
        expect(dev.boot!.selection!.states.join(" ")).to.contain("VALID");
    });
});
