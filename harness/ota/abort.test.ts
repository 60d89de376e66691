/**
 * The provider aborts the BDX transfer partway (its storage read fails): matter.js's BDX sender answers the
 * requestor's next BlockQuery with a StatusReport, so the requestor sees the failure at once (not after the 5-minute
 * BDX idle timeout), retries the download itself (3 attempts per query), goes back to Idle with ChangeReason Failure
 * when all attempts fail, and a later query (the next AnnounceOTAProvider) updates the device. A provider that
 * stalls instead (no StatusReport) ends in a timeout at performOta's deadline, not the 5-minute idle timeout.
 */
import { expect } from "chai";
import { Logger, LogLevel } from "@matter/main";
import { OtaSoftwareUpdateRequestor } from "@matter/main/clusters/ota-software-update-requestor";
import { appImage, commissionedDevice, makeOtaFixture, otaFile, type OtaFixture } from "./testing.js";
import { OtaProvider } from "./provider.js";
import { performOta, VirtualOtaDevice } from "./ota.js";

const OTADATA = 0xf000;
const { UpdateState, ChangeReason } = OtaSoftwareUpdateRequestor;

describe("harness/ota: the provider aborts the transfer → the requestor is Idle promptly and a retry succeeds", function () {
    this.timeout(20000);
    let fx: OtaFixture;
    let provider: OtaProvider;
    let dev: VirtualOtaDevice;
    let nodeId: bigint;

    before(async () => {
        Logger.level = LogLevel.ERROR;
        fx = await makeOtaFixture();
        provider = await OtaProvider.start();
        ({ dev, nodeId } = await commissionedDevice(fx, provider, { seed: 11 }));
    });
    after(async () => {
        provider?.releaseStalls(); // a read still stalled (a failed test) would keep the device's power-off waiting
        await dev?.powerOff();
        await provider?.close();
        await fx?.cleanup();
    });

    it("one aborted transfer: the requestor's second download attempt completes the update", async () => {
        provider.clearImages();
        await provider.addImages([otaFile(fx, appImage(2, { size: 12 * 1024 }), 2)]);
        provider.faults = { abortAfterBytes: 4096, abortCount: 1 };
        const aborts = provider.aborts;
        const t = provider.transfers.length;
        const r = await performOta(provider, dev, nodeId);
        expect(r.status, r.detail).to.equal("updated");
        expect([r.bootSlot, r.softwareVersionAfter]).to.deep.equal(["ota_1", 2]);
        expect(provider.aborts - aborts).to.equal(1);
        const transfers = provider.transfers.slice(t);
        expect(transfers.map(x => [Boolean(x.aborted), x.finished])).to.deep.equal([[true, false], [false, true]]);
        // the aborted attempt stopped at the failing read: 4 blocks of 1024 bytes were sent, no more
        expect(transfers[0]!.bytes).to.be.at.most(4096);
        expect(r.timings.totalMs, "no BDX idle timeout (5 min) was waited for").to.be.below(5000);
    });

    it("every attempt aborted: download-failed within seconds, Idle with ChangeReason Failure, otadata untouched; the next query updates", async () => {
        provider.clearImages();
        await provider.addImages([otaFile(fx, appImage(3, { size: 12 * 1024 }), 3)]);
        provider.faults = { abortAfterBytes: 2048, abortCount: 3 };
        const otadata = dev.chip.flashReadRaw(OTADATA, 0x2000);
        const t = provider.transfers.length;
        const tr = dev.transitions.length;
        const failed = await performOta(provider, dev, nodeId);
        expect([failed.status, failed.code], failed.detail).to.deep.equal(["download-failed", "CHIP_ERROR_CONNECTION_ABORTED"]);
        expect(failed.detail).to.contain("TransferFailedUnknownError");
        expect(failed.timings.totalMs, "three prompt failures, no 5-minute idle timeout").to.be.below(5000);
        expect(provider.transfers.slice(t).map(x => Boolean(x.aborted))).to.deep.equal([true, true, true]);
        const last = dev.transitions.at(-1)!;
        expect([last.state, last.reason]).to.deep.equal([UpdateState.Idle, ChangeReason.Failure]);
        expect(dev.transitions.slice(tr).map(x => x.state)).to.include(UpdateState.Downloading);
        expect(dev.chip.flashReadRaw(OTADATA, 0x2000)).to.deep.equal(otadata);
        expect([failed.bootSlot, failed.softwareVersionAfter]).to.deep.equal(["ota_1", 2]);

        const retried = await performOta(provider, dev, nodeId);
        expect(retried.status, retried.detail).to.equal("updated");
        expect([retried.bootSlot, retried.softwareVersionAfter]).to.deep.equal(["ota_0", 3]);
        expect(provider.transfers.at(-1)!.finished).to.equal(true);
    });

    it("the provider stalls mid-transfer: timeout at the harness deadline, not the 5-minute BDX idle timeout; the harness fails the transfer, the requestor is Idle and the next query updates", async () => {
        provider.clearImages();
        await provider.addImages([otaFile(fx, appImage(4, { size: 12 * 1024 }), 4)]);
        provider.faults = { stallAfterBytes: 3072 };
        const otadata = dev.chip.flashReadRaw(OTADATA, 0x2000);
        const stalled = provider.stalled;
        const tr = dev.transitions.length;
        const r = await performOta(provider, dev, nodeId, { timeoutMs: 1500 });
        expect([r.status, r.code], r.detail).to.deep.equal(["timeout", "CHIP_ERROR_TIMEOUT"]);
        expect(r.detail).to.match(/BDX transfer stalled: no block from the provider after \d+ bytes/);
        expect(r.detail).to.contain("requestor Downloading;").and.to.match(/requestor Idle$/);
        expect(r.timings.totalMs).to.be.within(1500, 7000);
        expect(provider.stalled - stalled).to.equal(1);
        const states = dev.transitions.slice(tr);
        expect(states.map(x => x.state)).to.include(UpdateState.Downloading);
        expect([states.at(-1)!.state, states.at(-1)!.reason]).to.deep.equal([UpdateState.Idle, ChangeReason.Failure]);
        expect(dev.chip.flashReadRaw(OTADATA, 0x2000)).to.deep.equal(otadata);
        expect(provider.faults.stallAfterBytes).to.equal(undefined);

        const retried = await performOta(provider, dev, nodeId);
        expect(retried.status, retried.detail).to.equal("updated");
        expect(retried.softwareVersionAfter).to.equal(4);
    });
});
