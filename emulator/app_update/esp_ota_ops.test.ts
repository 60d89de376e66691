import { expect } from "chai";
import fc from "fast-check";
import { generateKeyPairSync } from "node:crypto";
import { EspError } from "../esp_common/err.js";
import { buildAppImage, keyDigest, loadSigningKey, publicKeyInfo, signImage } from "../bootloader_support/index.js";
import { parsePartitionCsv, type PartitionEntry } from "../esp_partition/index.js";
import { NorFlash, PowerLossError } from "../spi_flash/index.js";
import { EspOta, type OtaDevice, OTA_WITH_SEQUENTIAL_WRITES } from "./esp_ota_ops.js";
import { decodeOtadata, encodeOtadata, makeOtaSelectEntry, OtaImgState } from "./otadata.js";
import { selectBootPartition } from "./select.js";

const CSV = `nvs,data,nvs,0x9000,0x6000
otadata,data,ota,0xf000,0x2000
ota_0,app,ota_0,0x20000,0x60000
ota_1,app,ota_1,0x80000,0x60000
`;

function device(flash: NorFlash, table: PartitionEntry[]): OtaDevice {
    return {
        partitionTable: table,
        partition: p => flash.region(p.offset, p.size),
    };
}

function setup(opts: { rollback?: boolean; efuseSecureVersion?: number; secureBoot?: { digests: Uint8Array[] } } = {}) {
    const table = parsePartitionCsv(CSV, { flashSize: 2 * 1024 * 1024 });
    const flash = new NorFlash({ size: 2 * 1024 * 1024, seed: 7 });
    const otadata = table.find(p => p.name === "otadata")!;
    // running ota_0, confirmed VALID
    flash.write(otadata.offset, encodeOtadata(makeOtaSelectEntry(1, OtaImgState.VALID)).subarray(0, 32));
    const running = table.find(p => p.name === "ota_0")!;
    const ota = new EspOta(device(flash, table), { running, chip: "esp32c3", rollback: opts.rollback ?? true, ...opts });
    const readOtadata = () => flash.read(otadata.offset, 0x2000);
    return { table, flash, ota, running, readOtadata };
}

const app = (v: number, extra: Partial<Parameters<typeof buildAppImage>[0]> = {}) =>
    buildAppImage({ chip: "esp32c3", version: `v${v}.0`, matterSoftwareVersion: v, size: 20000, ...extra });

function writeAll(ota: EspOta, image: Uint8Array, chunk = 1000, size?: number) {
    const next = ota.getNextUpdatePartition();
    const h = ota.begin(next, size);
    for (let i = 0; i < image.length; i += chunk) ota.write(h, image.subarray(i, i + chunk));
    return { h, next, end: () => ota.end(h) };
}

describe("emulator/app_update esp_ota_ops", () => {
    it("begin/write/end/set_boot_partition: the bootloader then picks ota_1 as NEW → PENDING_VERIFY; mark valid → VALID", () => {
        const { ota, flash, readOtadata } = setup();
        const image = app(2);
        const { next, end } = writeAll(ota, image, 1024);
        expect(next.name).to.equal("ota_1");
        const r = end();
        expect(r.imageLength).to.equal(image.length);
        expect(flash.read(next.offset, image.length)).to.deep.equal(image);
        const before = readOtadata();
        const set = ota.setBootPartition(next);
        expect(set).to.deep.equal({ sector: 1, seq: 2, state: "NEW" });
        // independent decision: the bootloader's selection on the bytes
        const sel = selectBootPartition(readOtadata(), { otaSlots: 2, rollback: true });
        expect(sel.bootIndex).to.equal(1);
        expect(sel.entries[1].state).to.equal(OtaImgState.PENDING_VERIFY);
        expect(before.subarray(0, 32)).to.deep.equal(readOtadata().subarray(0, 32)); // sector 0 untouched
        // "reboot": apply the bootloader's own otadata writes (NEW → PENDING_VERIFY), then the new app confirms itself
        for (const wr of sel.writes) {
            flash.erase(0xf000 + wr.sector * 0x1000, 0x1000);
            flash.write(0xf000 + wr.offset, wr.bytes);
        }
        const after = new EspOta(device(flash, setup().table), { running: next, rollback: true });
        expect(after.getStatePartition(next)).to.equal(OtaImgState.PENDING_VERIFY);
        after.markAppValidCancelRollback();
        expect(decodeOtadata(readOtadata())[1].state).to.equal(OtaImgState.VALID);
    });

    it("odd chunk sizes are buffered to 16-byte programs and the image lands byte-exact (property)", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 3000 }), chunk => {
                const { ota, flash } = setup();
                const image = app(3);
                const { next, end } = writeAll(ota, image, chunk, OTA_WITH_SEQUENTIAL_WRITES);
                end();
                expect(flash.read(next.offset, image.length)).to.deep.equal(image);
                expect(flash.log.filter(op => op.kind === "write").every(op => op.length % 16 === 0)).to.equal(true);
            }),
            { numRuns: 15 },
        );
    });

    it("refuses: writing the running slot, a non-image first byte, a flipped bit (hash), another chip's image", () => {
        const { ota, running } = setup();
        expect(() => ota.begin(running)).to.throw(EspError).with.property("code", "ESP_ERR_OTA_PARTITION_CONFLICT");
        const h = ota.begin(ota.getNextUpdatePartition());
        expect(() => ota.write(h, new Uint8Array([0x00, 1, 2]))).to.throw(EspError).with.property("code", "ESP_ERR_OTA_VALIDATE_FAILED");
        const bad = app(2);
        bad[bad.length - 100]! ^= 0x04;
        const w = writeAll(ota, bad);
        expect(() => w.end()).to.throw(EspError).with.property("code", "ESP_ERR_OTA_VALIDATE_FAILED");
        const other = buildAppImage({ chip: "esp32s3", version: "v2", matterSoftwareVersion: 2 });
        const w2 = writeAll(ota, other);
        expect(() => w2.end()).to.throw(EspError, /chip ID/);
    });

    it("anti-rollback: secure_version below the eFuse → ESP_ERR_OTA_SMALL_SEC_VER, otadata untouched", () => {
        const { ota, readOtadata } = setup({ efuseSecureVersion: 3 });
        const w = writeAll(ota, app(2, { secureVersion: 2 }));
        w.end();
        const before = readOtadata();
        expect(() => ota.setBootPartition(w.next)).to.throw(EspError).with.property("code", "ESP_ERR_OTA_SMALL_SEC_VER");
        expect(readOtadata()).to.deep.equal(before);
        const ok = writeAll(ota, app(2, { secureVersion: 3 }));
        ok.end();
        expect(ota.setBootPartition(ok.next).state).to.equal("NEW");
    });

    it("secure boot: an unsigned or wrongly signed image is refused at esp_ota_end, a signed one passes", () => {
        const pem = (k: ReturnType<typeof generateKeyPairSync>) => k.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        const good = pem(generateKeyPairSync("ec", { namedCurve: "P-256" }));
        const evil = pem(generateKeyPairSync("ec", { namedCurve: "P-256" }));
        const digests = [keyDigest(publicKeyInfo(good))];
        const { ota } = setup({ secureBoot: { digests } });
        const plain = app(2);
        expect(() => writeAll(ota, plain).end()).to.throw(EspError, /Secure boot/);
        expect(() => writeAll(ota, signImage(plain, [loadSigningKey(evil)])).end()).to.throw(EspError, /Secure boot/);
        const r = writeAll(ota, signImage(plain, [loadSigningKey(good)])).end();
        expect(r.verify.signature?.valid).to.equal(true);
    });

    it("rollback on: a new update while the running app is PENDING_VERIFY → ESP_ERR_OTA_ROLLBACK_INVALID_STATE", () => {
        const { ota, flash, table } = setup();
        flash.erase(0xf000, 0x1000);
        flash.write(0xf000, encodeOtadata(makeOtaSelectEntry(1, OtaImgState.PENDING_VERIFY)).subarray(0, 32));
        expect(() => ota.begin(ota.getNextUpdatePartition())).to.throw(EspError).with.property("code", "ESP_ERR_OTA_ROLLBACK_INVALID_STATE");
        expect(table.length).to.be.greaterThan(0);
    });

    it("mark invalid → the bootloader goes back to the other slot", () => {
        const { ota, flash, readOtadata, table } = setup();
        const w = writeAll(ota, app(2));
        w.end();
        ota.setBootPartition(w.next);
        let sel = selectBootPartition(readOtadata(), { otaSlots: 2, rollback: true });
        for (const wr of sel.writes) {
            flash.erase(0xf000 + wr.sector * 0x1000, 0x1000);
            flash.write(0xf000 + wr.offset, wr.bytes);
        }
        const newApp = new EspOta(device(flash, table), { running: w.next, rollback: true });
        newApp.markAppInvalidRollback();
        sel = selectBootPartition(readOtadata(), { otaSlots: 2, rollback: true });
        expect(sel.bootIndex).to.equal(0);
    });

    it("power loss at any flash operation: the bootloader still selects ota_0, or ota_1 only after the otadata entry was fully written", () => {
        const image = app(2);
        const probe = setup();
        const base = probe.flash.opCount;
        const w = writeAll(probe.ota, image, 1024);
        w.end();
        probe.ota.setBootPartition(w.next);
        const total = probe.flash.opCount - base;
        for (let n = 1; n <= total; n += Math.max(1, Math.floor(total / 12))) {
            for (const k of new Set([n, total, total - 1])) {
                const { ota, flash, readOtadata } = setup();
                flash.schedulePowerLoss(flash.opCount + k);
                let lost = false;
                try {
                    const x = writeAll(ota, image, 1024);
                    x.end();
                    ota.setBootPartition(x.next);
                } catch (e) {
                    expect(e).to.be.instanceOf(PowerLossError);
                    lost = true;
                }
                expect(lost).to.equal(true);
                flash.powerOn();
                const sel = selectBootPartition(readOtadata(), { otaSlots: 2, rollback: true });
                expect(sel.bootIndex, `loss at op ${k}/${total}`).to.equal(0);
            }
        }
    });
});
