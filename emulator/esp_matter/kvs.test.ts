import { expect } from "chai";
import { BackendStorageDriver } from "../device/storage.js";
import { DiagnosticError } from "../esp_common/err.js";
import { mountNvs } from "../nvs/index.js";
import { NorFlash, PowerLossError } from "../spi_flash/flash.js";
import { CHIP_KVS_NAMESPACE, KeyValueStoreManager, NvsStorageBackend, chipKvsNvsKey } from "./kvs.js";

const KEYS = { eky: new Uint8Array(32).fill(0x11), tky: new Uint8Array(32).fill(0x22) };

function flash(seed = 1) {
    const chip = new NorFlash({ size: 0x20000, anySize: true, overwrite: "error", seed });
    return { chip, nvs: chip.region(0x9000, 0x6000) };
}

describe("esp_matter KVS on NVS (KeyValueStoreManagerImpl)", () => {
    it("HashIfLongKey: keys of 16+ bytes become the first 15 hex digits of their SHA-1", () => {
        expect(chipKvsNvsKey("f/1/n")).to.equal("f/1/n");
        expect(chipKvsNvsKey("123456789012345")).to.equal("123456789012345");
        // SHA-1("The quick brown fox jumps over the lazy dog") = 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12
        expect(chipKvsNvsKey("The quick brown fox jumps over the lazy dog")).to.equal("2fd4e1c67a2d28f");
    });

    it("values are blobs in CHIP_KVS under the (hashed) key; get/put/delete survive a remount", () => {
        const { nvs } = flash();
        const kvs = new KeyValueStoreManager(nvs);
        kvs.put("g/fidx", new Uint8Array([1, 2, 3]));
        kvs.put("node0/root.fabrics/fabrics", new Uint8Array(5000).fill(0xab));
        // the independent reader sees the same blobs
        const r = mountNvs(nvs.read(0, nvs.size));
        expect(r.getBlob(CHIP_KVS_NAMESPACE, "g/fidx")).to.deep.equal(new Uint8Array([1, 2, 3]));
        expect(r.getBlob(CHIP_KVS_NAMESPACE, chipKvsNvsKey("node0/root.fabrics/fabrics")).length).to.equal(5000);
        const again = new KeyValueStoreManager(nvs);
        expect(again.get("g/fidx")).to.deep.equal(new Uint8Array([1, 2, 3]));
        again.delete("g/fidx");
        expect(() => new KeyValueStoreManager(nvs).get("g/fidx")).to.throw(DiagnosticError).with.property("code", "CHIP_ERROR_PERSISTED_STORAGE_VALUE_NOT_FOUND");
        expect(new KeyValueStoreManager(nvs).nvsKeys()).to.deep.equal([chipKvsNvsKey("node0/root.fabrics/fabrics")]);
    });

    it("NvsStorageBackend: entries with their full keys after a reboot (plain and encrypted); clear() erases the partition", () => {
        for (const keys of [undefined, KEYS]) {
            const { nvs } = flash();
            const b = new NvsStorageBackend(nvs, { keys });
            b.set("node0/root.fabrics/fabrics", new TextEncoder().encode('[{"fabricIndex":1}]'));
            b.set("node0/root.acl/acl", new Uint8Array([9]));
            b.set("node0/root.acl/acl", new Uint8Array([10]));
            b.set("short", new Uint8Array(0));
            b.delete("missing/key/is-fine");
            const rebooted = new NvsStorageBackend(nvs, { keys });
            expect(new Map(rebooted.entries())).to.deep.equal(
                new Map([
                    ["node0/root.fabrics/fabrics", new TextEncoder().encode('[{"fabricIndex":1}]')],
                    ["node0/root.acl/acl", new Uint8Array([10])],
                    ["short", new Uint8Array(0)],
                ]),
            );
            rebooted.delete("short");
            expect(new NvsStorageBackend(nvs, { keys }).get("short")).to.equal(undefined);
            rebooted.clear();
            expect(nvs.read(0, nvs.size).every(x => x === 0xff)).to.equal(true);
            expect(new NvsStorageBackend(nvs, { keys }).entries()).to.deep.equal([]);
        }
    });

    it("a torn write at power loss leaves the previous value (or the new one), never neither", () => {
        const outcomes = new Set<string>();
        for (let n = 1; n < 60; n++) {
            const { chip, nvs } = flash(n);
            const b = new NvsStorageBackend(nvs);
            b.set("node0/root.fabrics/fabrics", new Uint8Array(700).fill(1));
            b.set("node0/sessions/resumption", new Uint8Array(64).fill(7));
            chip.schedulePowerLoss(chip.opCount + n);
            let torn = false;
            try {
                b.set("node0/root.fabrics/fabrics", new Uint8Array(900).fill(2));
            } catch (e) {
                expect(e).to.be.instanceOf(PowerLossError);
                torn = true;
            }
            chip.powerOn();
            const after = new NvsStorageBackend(nvs);
            const v = after.get("node0/root.fabrics/fabrics");
            expect(v, `n=${n}`).to.not.equal(undefined);
            const which = v!.length === 700 && v!.every(x => x === 1) ? "old" : v!.length === 900 && v!.every(x => x === 2) ? "new" : "garbage";
            expect(which, `n=${n}`).to.not.equal("garbage");
            if (!torn) expect(which).to.equal("new");
            outcomes.add(which);
            expect(after.get("node0/sessions/resumption")).to.deep.equal(new Uint8Array(64).fill(7));
        }
        expect([...outcomes].sort()).to.deep.equal(["new", "old"]);
    });

    it("the matter.js storage driver persists through it", async () => {
        const { nvs } = flash();
        const d = await BackendStorageDriver.open(new NvsStorageBackend(nvs), "node0");
        d.set(["root", "fabrics"], "nextFabricIndex", 2);
        d.set(["root", "fabrics"], { label: "kitchen", ok: true });
        await d.close();
        const d2 = await BackendStorageDriver.open(new NvsStorageBackend(nvs), "node0");
        expect(d2.get(["root", "fabrics"], "nextFabricIndex")).to.equal(2);
        expect(d2.get(["root", "fabrics"], "label")).to.equal("kitchen");
        await d2.close();
    });
});
