import { expect } from "chai";
import { createSocket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { buildAppImage } from "../bootloader_support/index.js";
import { Efuses } from "../efuse/index.js";
import { decodeNvsKeys, encodeNvsKeys, randomNvsKeys } from "../nvs/index.js";
import { bootChip } from "./bootloader.js";
import { VirtualEsp32 } from "./chip.js";
import { startFirmware } from "./firmware.js";
import { buildFlashImage, ESP_MATTER_PARTITIONS_CSV } from "./flash_layout.js";
import { factoryPartition } from "./testing.js";

const app = buildAppImage({ chip: "esp32c3", version: "1.4.2", matterSoftwareVersion: 142 });

/** Factory data that reads fine but is not a real attestation chain (enough for the reading paths). */
function fakeFactoryData() {
    return {
        discriminator: 3840,
        iterationCount: 1000,
        salt: new Uint8Array(randomBytes(32)),
        verifier: new Uint8Array([...randomBytes(32), 0x04, ...randomBytes(64)]),
        dacCert: new Uint8Array(randomBytes(300)),
        dacKey: new Uint8Array(randomBytes(32)),
        paiCert: new Uint8Array(randomBytes(300)),
        certDeclaration: new Uint8Array(randomBytes(200)),
        vendorId: 0xfff1,
        productId: 0x8000,
        serialNumber: "SN-1",
    };
}

function boot(image: Uint8Array, efuses?: Efuses) {
    const chip = VirtualEsp32.fromImage(image, efuses ? { efuses } : {});
    const result = bootChip(chip);
    expect(result.ok, result.log.join("\n")).to.equal(true);
    return { chip, result };
}

describe("esp32 firmware: startFirmware", function () {
    this.timeout(30000);

    it("no factory partition in the table → ESP_ERR_NVS_PART_NOT_FOUND, no commissioning window (esp-matter#443)", async () => {
        const csv = ESP_MATTER_PARTITIONS_CSV.replace(/^fctry.*$/m, "");
        const { chip, result } = boot(buildFlashImage({ chip: "esp32c3", partitions: csv, app }).image);
        const fw = await startFirmware(chip, result, { startDevice: false });
        expect(fw.ok).to.equal(false);
        expect(fw.error!.code).to.equal("ESP_ERR_NVS_PART_NOT_FOUND");
        expect(fw.device).to.equal(undefined);
        expect(fw.log.some(l => /^E \(\d+\) chip\[DL\]: nvs_flash_init_partition\(fctry\) failed: ESP_ERR_NVS_PART_NOT_FOUND$/.test(l))).to.equal(true);
        expect(fw.log.some(l => /commissioning window not opened/.test(l))).to.equal(true);
        // the app banner comes from esp_app_desc_t; the version from the Matter field
        expect(fw.log.some(l => /app_init: App version:      1\.4\.2$/.test(l))).to.equal(true);
        expect(fw.firmware).to.deep.equal({ softwareVersion: 142, softwareVersionString: "1.4.2" });
    });

    it("a missing mandatory key is logged like the firmware does: ESP_ERR_NVS_NOT_FOUND reading dac-cert from fctry", async () => {
        const fctry = factoryPartition(fakeFactoryData(), { omit: ["dac-cert"] });
        const { chip, result } = boot(buildFlashImage({ chip: "esp32c3", partitions: ESP_MATTER_PARTITIONS_CSV, app, fctry }).image);
        const fw = await startFirmware(chip, result, { startDevice: false });
        expect(fw.ok).to.equal(false);
        expect(fw.error!.code).to.equal("ESP_ERR_NVS_NOT_FOUND");
        expect(fw.log.filter(l => /^E \(\d+\) chip\[DL\]: ESP_ERR_NVS_NOT_FOUND reading dac-cert from fctry$/.test(l))).to.have.length(1);
        expect(fw.reads.find(r => r.key === "dac-cert")).to.include({ ok: false, error: "ESP_ERR_NVS_NOT_FOUND" });
        expect(fw.reads.find(r => r.key === "dac-key")!.ok).to.equal(true);
    });

    it("CONFIG_NVS_ENCRYPTION with a blank nvs_keys: 'NVS key partition empty', fresh keys written, and an image encrypted with the factory's keys reads nothing", async () => {
        const factoryKeys = randomNvsKeys();
        const fctry = factoryPartition(fakeFactoryData(), { keys: factoryKeys });
        const { chip, result } = boot(buildFlashImage({ chip: "esp32c3", partitions: ESP_MATTER_PARTITIONS_CSV, app, fctry }).image);
        const keysPart = chip.partitionTable!.find(p => p.name === "nvs_keys")!;
        expect(chip.flashReadRaw(keysPart.offset, 64).every(b => b === 0xff)).to.equal(true);
        const drawn: number[] = [];
        const fw = await startFirmware(chip, result, { startDevice: false, nvsEncryption: true, randomBytes: n => (drawn.push(n), new Uint8Array(n).fill(drawn.length)) });
        expect(fw.log.filter(l => /^I \(\d+\) chip\[DL\]: NVS key partition empty$/.test(l))).to.have.length(1);
        expect(drawn).to.deep.equal([32, 32]);
        const stored = decodeNvsKeys(chip.flashRead(keysPart.offset, 4096));
        expect([stored.eky[0], stored.tky[0]]).to.deep.equal([1, 2]); // the generated keys, persisted with their CRC
        expect(fw.error!.code).to.equal("ESP_ERR_NVS_NOT_FOUND");
        // the next boot (same chip, a new console) finds them: no second generation
        const again = await startFirmware(chip, bootChip(chip), { startDevice: false, nvsEncryption: true });
        expect(again.log.some(l => /NVS key partition empty/.test(l))).to.equal(false);
        // the factory's own keys flashed instead: it reads
        const withKeys = boot(buildFlashImage({ chip: "esp32c3", partitions: ESP_MATTER_PARTITIONS_CSV, app, fctry, nvsKeys: encodeNvsKeys(factoryKeys) }).image);
        const read = await startFirmware(withKeys.chip, withKeys.result, { startDevice: false, nvsEncryption: true });
        for (const key of ["discriminator", "verifier", "dac-cert", "dac-key"]) expect(read.reads.find(r => r.key === key)!.ok, key).to.equal(true);
        expect(read.log.some(l => /NVS key partition empty/.test(l))).to.equal(false);
    });

    it("a factory partition under another label is found by CONFIG_CHIP_FACTORY_NAMESPACE_PARTITION_LABEL only", async () => {
        const csv = ESP_MATTER_PARTITIONS_CSV.replace(/^fctry,/m, "mfg,");
        const fctry = factoryPartition(fakeFactoryData(), { omit: ["dac-cert"] });
        const { chip, result } = boot(buildFlashImage({ chip: "esp32c3", partitions: csv, app, fctry, fctryLabel: "mfg" }).image);
        expect((await startFirmware(chip, result, { startDevice: false })).error!.code).to.equal("ESP_ERR_NVS_PART_NOT_FOUND");
        const fw = await startFirmware(chip, result, { startDevice: false, factoryPartitionLabel: "mfg" });
        expect(fw.error!.code).to.equal("ESP_ERR_NVS_NOT_FOUND"); // found now: the dac-cert is what is missing
        expect(fw.factoryPartition).to.deep.equal({ label: "mfg", offset: 0x3e0000, size: 0x6000 });
    });

    it("end to end: NVS-encrypted factory data on a flash-encrypted chip boots and serves on 127.0.0.1 (real UDP), then stops", async () => {
        const { Logger, LogLevel } = await import("@matter/main");
        Logger.level = LogLevel.ERROR;
        const { createTestFactoryData, createTestPki } = await import("../device/testing.js");
        const pki = await createTestPki();
        const { factoryData } = await createTestFactoryData(pki, { serialNumber: "E2E-0001" });
        const keys = randomNvsKeys();
        const efuses = new Efuses("esp32c3");
        const flash = buildFlashImage({
            chip: "esp32c3",
            partitions: ESP_MATTER_PARTITIONS_CSV,
            app,
            fctry: factoryPartition(factoryData, { keys }),
            nvsKeys: encodeNvsKeys(keys),
            encrypt: true,
            efuses,
            randomKey: n => new Uint8Array(n).fill(0x42),
        });
        expect(flash.written.find(w => w.source === "nvs_keys")!.encrypted).to.equal(true);
        expect(flash.written.find(w => w.source === "fctry")!.encrypted).to.equal(false);
        const { chip, result } = boot(flash.image, efuses);
        const fw = await startFirmware(chip, result, { port: 0 });
        try {
            expect(fw.ok, fw.log.join("\n")).to.equal(true);
            expect(fw.port).to.be.a("number").greaterThan(0);
            expect(fw.factoryData!.serialNumber).to.equal("E2E-0001");
            expect(fw.log.some(l => l.endsWith(`chip[SVR]: Server Listening on UDP port ${fw.port} (127.0.0.1, ::1)`))).to.equal(true);
            // the port is really taken on 127.0.0.1
            const sock = createSocket("udp4");
            const err = await new Promise<NodeJS.ErrnoException | undefined>(resolve => {
                sock.once("error", e => resolve(e));
                sock.bind({ port: fw.port!, address: "127.0.0.1", exclusive: true }, () => resolve(undefined));
            });
            sock.close();
            expect(err?.code).to.equal("EADDRINUSE");
        } finally {
            await fw.device?.stop();
        }
    });
});
