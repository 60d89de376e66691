// OTA field failures: the update must never leave a device that does not boot. Each scenario updates a seeded
// device over Matter OTA (the line's provider on loopback, BDX into the next OTA slot) and asserts what the field
// sees: the refusal's name, POWER_LOSS, SelfTestFailed — and that the old image still runs and answers over CASE.
import { scenario } from "../lib/index.js";

// connectedhomeip#39300 ("[Telink] Add vid and pid judgment"): chip-ota-provider-app serves whatever file it was
// started with, and a platform whose OTAImageProcessor did not compare the header's VID/PID installed firmware built
// for another product ("bricking" devices). A provider that follows the Matter rules answers QueryImage NotAvailable;
// one that serves anything must be stopped by the requestor on the header, before anything is erased.
export const otaWrongProduct = scenario(
    "connectedhomeip#39300: OTA image built for another product (PID 0x8001) is refused, v1 keeps running",
    { issue: "connectedhomeip#39300" },
    async ({ line, expect }) => {
        const dev = await line.device();
        const offered = await dev.update({ productId: 0x8001 });
        expect(offered).toFailWith("NotAvailable");
        expect(offered).toContain("ProductIdMismatch");

        const pushed = await dev.update({ productId: 0x8001, provider: "any" }); // like chip-ota-provider-app -f other.ota
        expect(pushed).toFailWith("ProductIdMismatch");
        expect(pushed.events.map(e => e.kind), "requestor events").not.toContain("installed");
        expect(pushed.bootLog, "no reboot").toEqual([]);
        expect([pushed.bootSlot, pushed.softwareVersionAfter], "slot and SoftwareVersion over CASE").toEqual(["ota_0", 1]);
    },
);

// mfgsim issue 7 ("power loss at every Nth flash write during the transfer, and during the otadata update → the
// device boots the old image and still commissions"); ESP-IDF's OTA design: otadata is only switched after
// esp_ota_end verified the new slot, and its two sectors are written one at a time, so a cut anywhere leaves a
// bootable device. A field unit unplugged mid-update must come back on v1 and take the update on the next try.
export const otaPowerLoss = scenario(
    "power loss during OTA (in the transfer, in the otadata update): the old slot still boots, the retry updates",
    { issue: "mfgsim#7" },
    async ({ line, expect }) => {
        const dev = await line.device();
        const inTransfer = await dev.update({ powerLossAtOp: 2 });
        expect(inTransfer).toFailWith("POWER_LOSS");
        expect(inTransfer.bootLog).toContain(/Loaded app from partition at offset 0x20000$/); // ota_0, not 0x200000
        expect(inTransfer.bootLog).toContain(/App version:\s+1\.0/);
        expect([inTransfer.bootSlot, inTransfer.softwareVersionAfter], "slot and SoftwareVersion over CASE").toEqual(["ota_0", 1]);

        const inOtadata = await dev.update({ powerLossInOtadataAtOp: 2 });
        expect(inOtadata).toFailWith("POWER_LOSS");
        expect(inOtadata.events.map(e => e.kind), "requestor events").toContain("installed");
        expect([inOtadata.bootSlot, inOtadata.softwareVersionAfter], "slot and SoftwareVersion over CASE").toEqual(["ota_0", 1]);

        const retry = await dev.update();
        expect(retry).toPass();
        expect([retry.bootSlot, retry.softwareVersionAfter], "slot and SoftwareVersion over CASE").toEqual(["ota_1", 2]);
    },
);

// esp-idf#7859 / esphome#11300: with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE the first boot of a new image is
// PENDING_VERIFY; a firmware whose self-test fails calls esp_ota_mark_app_invalid_rollback_and_reboot and the
// bootloader must go back to the previous slot (and stay there), not keep booting the broken image.
export const otaRollback = scenario(
    "esp-idf#7859: rollback after a failed self-test (PENDING_VERIFY → INVALID → the previous slot)",
    { issue: ["esp-idf#7859", "esphome#11300"] },
    async ({ line, expect }) => {
        const dev = await line.device();
        const r = await dev.update({ selfTest: "fail" });
        expect(r).toFailWith("SelfTestFailed");
        expect(r).toFailWith("rolled-back");
        expect(r.boots.length, "boots: the new image, then the rollback").toEqual(2);
        expect(r.boots[0], "first boot").toContain(/Loaded app from partition at offset 0x200000$/); // ota_1, v2
        expect(r.boots[0], "first boot").toContain(/App version:\s+2\.0/);
        expect(r.boots[1], "after the self-test failed").toContain(/Loaded app from partition at offset 0x20000$/); // ota_0, not 0x200000, v1
        expect(r.boots[1], "after the self-test failed").toContain(/App version:\s+1\.0/);
        expect(r).toContain(/otadata: .*INVALID; running ota_0/);
        expect([r.bootSlot, r.softwareVersionAfter], "slot and SoftwareVersion over CASE").toEqual(["ota_0", 1]);
    },
);

// mfgsim issue 7 ("transfer stalled/aborted by the provider → requestor returns to idle and can retry"): a provider
// whose storage read fails partway ends the BDX transfer with a StatusReport (TransferFailedUnknownError); the
// requestor retries the download itself (3 attempts per query), then goes back to Idle (ChangeReason Failure) with
// nothing written to otadata, and the next announcement updates the device.
export const otaProviderAbort = scenario(
    "provider aborts the BDX transfer: the requestor is Idle again at once, v1 keeps running, the next query updates",
    { issue: "mfgsim#7" },
    async ({ line, expect }) => {
        const dev = await line.device();
        const aborted = await dev.update({ faults: { abortAfterBytes: 4096, abortCount: 3 } });
        expect(aborted).toFailWith("CHIP_ERROR_CONNECTION_ABORTED");
        expect(aborted).toContain("3 attempt(s), 3 cancelled by the provider");
        expect(aborted).toContain("ChangeReason Failure");
        expect(aborted.timings.totalMs < 5000, "no 5-minute BDX idle timeout").toEqual(true);
        expect([aborted.bootSlot, aborted.softwareVersionAfter], "slot and SoftwareVersion over CASE").toEqual(["ota_0", 1]);

        const once = await dev.update({ faults: { abortAfterBytes: 4096, abortCount: 1 } }); // the requestor's 2nd attempt completes
        expect(once).toPass();
        expect([once.bootSlot, once.softwareVersionAfter], "slot and SoftwareVersion over CASE").toEqual(["ota_1", 2]);
    },
);

// A provider that goes silent mid-transfer (a hung provider process, a file server that stopped answering): no Block
// and no StatusReport, so a requestor sits in Downloading until its 5-minute BDX idle timeout. The line reports a
// timeout at its own deadline and fails the stalled transfer (as restarting the provider would), so the device is
// Idle again with v1 running and otadata untouched, and the next announcement updates it.
export const otaProviderStall = scenario(
    "provider stalls mid-transfer: a timeout at the line's deadline, not a 5-minute hang; v1 keeps running, the next query updates",
    { issue: "mfgsim#7" },
    async ({ line, expect }) => {
        const dev = await line.device();
        const stalled = await dev.update({ faults: { stallAfterBytes: 4096 }, timeoutMs: 2000 });
        expect(stalled).toFailWith("CHIP_ERROR_TIMEOUT");
        expect(stalled).toFailWith("timeout");
        expect(stalled).toContain(/BDX transfer stalled: no block from the provider after \d+ bytes/);
        expect(stalled).toContain("requestor Downloading;");
        expect(stalled.timings.totalMs < 8000, "no 5-minute BDX idle timeout").toEqual(true);
        expect([stalled.bootSlot, stalled.softwareVersionAfter], "slot and SoftwareVersion over CASE").toEqual(["ota_0", 1]);

        const next = await dev.update();
        expect(next).toPass();
        expect([next.bootSlot, next.softwareVersionAfter], "slot and SoftwareVersion over CASE").toEqual(["ota_1", 2]);
    },
);
