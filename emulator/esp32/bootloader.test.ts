import { expect } from "chai";
import fc from "fast-check";
import { createHash, generateKeyPairSync } from "node:crypto";
import { encodeOtadata, makeOtaSelectEntry, OtaImgState, otaSelectCrc, setBootPartitionWrites } from "../app_update/index.js";
import { buildAppImage, keyDigest, loadSigningKey, publicKeyInfo, signImage } from "../bootloader_support/index.js";
import { Efuses } from "../efuse/index.js";
import { parsePartitionCsv } from "../esp_partition/index.js";
import { xtsFlashCrypt } from "../flash_encryption/index.js";
import { type BootResult, bootChip } from "./bootloader.js";
import { provideFlashEncryptionKey, VirtualEsp32 } from "./chip.js";
import { buildFlashImage, ESP_MATTER_PARTITIONS_CSV } from "./flash_layout.js";
import { markAppValid } from "./firmware.js";

const OTA_CSV = `nvs,      data, nvs,     0x9000,   0x6000,
otadata,  data, ota,     0xf000,   0x2000,
phy_init, data, phy,     0x11000,  0x1000,
factory,  app,  factory, 0x20000,  0x100000,
ota_0,    app,  ota_0,   0x120000, 0x100000,
ota_1,    app,  ota_1,   0x220000, 0x100000,
fctry,    data, nvs,     0x3E0000, 0x6000,
`;
const OTADATA = 0xf000;
const SLOT = { factory: 0x20000, ota_0: 0x120000, ota_1: 0x220000 } as const;

const app = (version: string, secureVersion = 0) => buildAppImage({ chip: "esp32c3", version, secureVersion });

/** A plaintext C3 flash with the given app images written at their slots and an optional otadata. */
function flashWith(apps: Partial<Record<keyof typeof SLOT, Uint8Array>>, otadata?: Uint8Array, efuses?: Efuses): VirtualEsp32 {
    const { image } = buildFlashImage({ chip: "esp32c3", partitions: OTA_CSV });
    for (const [slot, bytes] of Object.entries(apps)) image.set(bytes, SLOT[slot as keyof typeof SLOT]);
    if (otadata) image.set(otadata, OTADATA);
    return VirtualEsp32.fromImage(image, { chip: "esp32c3", ...(efuses ? { efuses } : {}) });
}

const booted = (r: BootResult) => r.app?.partition.label;
const line = (r: BootResult, re: RegExp) => r.log.find(l => re.test(l));

describe("esp32 bootloader: bootChip", () => {
    it("boots a well-formed esp-matter flash from ota_0, printing the table and the ESP-IDF lines", () => {
        const { image } = buildFlashImage({ chip: "esp32c3", partitions: ESP_MATTER_PARTITIONS_CSV, app: app("1.2.3") });
        const chip = VirtualEsp32.fromImage(image);
        const r = bootChip(chip);
        expect(r.ok).to.equal(true);
        expect(r.app!.partition).to.deep.equal({ label: "ota_0", type: 0, subtype: "ota_0", offset: 0x20000, size: 0x1e0000 });
        expect(r.app!.appDesc.version).to.equal("1.2.3");
        // the row format of bootloader_utility.c: "%2d %-16s %-16s %02x %02x %08x %08x"
        expect(line(r, /boot:  5 ota_0 /)).to.match(/^I \(\d+\) boot:  5 ota_0            OTA app          00 10 00020000 001e0000$/);
        expect(line(r, /fctry/)).to.match(/boot:  7 fctry            WiFi data        01 02 003e0000 00006000$/);
        expect(line(r, /Partition Table:/)).to.match(/^I \(\d+\) boot: Partition Table:$/);
        expect(line(r, /No factory image/)).to.match(/^I \(\d+\) boot: No factory image, trying OTA 0$/);
        expect(line(r, /Loaded app/)).to.match(/^I \(\d+\) boot: Loaded app from partition at offset 0x20000$/);
        expect(line(r, /Set actual ota_seq=1 in otadata\[0\]/)).to.not.equal(undefined);
        // timestamps never go backwards
        const ms = r.log.map(l => /^[EWI] \((\d+)\)/.exec(l)?.[1]).filter(Boolean).map(Number);
        expect(ms).to.deep.equal([...ms].sort((a, b) => a - b));
        expect(r.trace.map(t => t.step)).to.deep.equal(["rom", "secure-boot", "flash-encryption", "partition-table", "otadata", "image", "otadata-write", "select"]);
        // otadata[0] on flash now holds {seq 1, VALID} with the CRC of seq 1 from the spec (0x4743989A)
        const entry = chip.flashRead(0x1d000, 32);
        const dv = new DataView(entry.buffer);
        expect([dv.getUint32(0, true), dv.getUint32(24, true), dv.getUint32(28, true)]).to.deep.equal([1, 2, 0x4743989a]);
        // deterministic: the same flash boots to the same console
        const again = bootChip(VirtualEsp32.fromImage(image));
        expect(again.log).to.deep.equal(r.log);
    });

    it("refuses a partition table with a wrong MD5 (no app is loaded)", () => {
        const { image } = buildFlashImage({ chip: "esp32c3", partitions: OTA_CSV, app: app("1") });
        image[0x8000 + 12] ^= 0x01; // first row's label changes: the MD5 row no longer matches
        const r = bootChip(VirtualEsp32.fromImage(image));
        expect(r.ok).to.equal(false);
        expect(r.app).to.equal(undefined);
        expect(r.error!.code).to.equal("ESP_ERR_INVALID_CRC");
        expect(line(r, /^E \(\d+\) flash_parts: Incorrect MD5 checksum/)).to.not.equal(undefined);
        expect(line(r, /^E \(\d+\) boot: Failed to verify partition table$/)).to.not.equal(undefined);
    });

    it("refuses an erased partition table with the invalid-magic message", () => {
        const { image } = buildFlashImage({ chip: "esp32c3", partitions: OTA_CSV, app: app("1") });
        image.fill(0x00, 0x8000, 0x8020);
        const r = bootChip(VirtualEsp32.fromImage(image));
        expect(r.ok).to.equal(false);
        expect(line(r, /^E \(\d+\) flash_parts: partition 0 invalid magic number 0x0$/)).to.not.equal(undefined);
    });

    it("rollback: NEW → PENDING_VERIFY; without mark-valid the next boot marks it ABORTED and returns to the previous slot", () => {
        const chip = flashWith({ ota_0: app("0.9"), ota_1: app("1.0") }, encodeOtadata(makeOtaSelectEntry(1, OtaImgState.VALID)));
        // esp_ota_set_boot_partition(ota_1) with rollback enabled: the other sector gets seq 2, state NEW
        const { writes } = setBootPartitionWrites(chip.flashRead(OTADATA, 0x2000), 1, { otaSlots: 2, rollback: true });
        for (const w of writes) {
            chip.flashErase(OTADATA + w.offset, 0x1000);
            chip.flashWrite(OTADATA + w.offset, w.bytes);
        }
        const first = bootChip(chip, { rollback: true });
        expect(booted(first)).to.equal("ota_1");
        expect(first.otadataWrites.map(w => [w.sector, w.seq, w.state])).to.deep.equal([[1, 2, "PENDING_VERIFY"]]);
        expect(new DataView(chip.flashRead(OTADATA + 0x1000 + 24, 4).buffer).getUint32(0, true)).to.equal(OtaImgState.PENDING_VERIFY);

        const second = bootChip(chip, { rollback: true });
        expect(booted(second)).to.equal("ota_0");
        expect(second.otadataWrites.map(w => [w.sector, w.state])).to.deep.equal([[1, "ABORTED"]]);

        // the other branch: the app confirms itself, and the next boot stays on ota_1
        const chip2 = flashWith({ ota_0: app("0.9"), ota_1: app("1.0") }, encodeOtadata(makeOtaSelectEntry(1, OtaImgState.VALID), makeOtaSelectEntry(2, OtaImgState.NEW)));
        expect(booted(bootChip(chip2, { rollback: true }))).to.equal("ota_1");
        markAppValid(chip2);
        const third = bootChip(chip2, { rollback: true });
        expect(booted(third)).to.equal("ota_1");
        expect(third.otadataWrites).to.deep.equal([]);
    });

    it("falls back from a bad image in ota_1 to ota_0, logging the esp_image error", () => {
        const bad = app("2.0");
        bad[0] = 0x00;
        const chip = flashWith({ ota_0: app("1.0"), ota_1: bad }, encodeOtadata(makeOtaSelectEntry(1, OtaImgState.VALID), makeOtaSelectEntry(2, OtaImgState.VALID)));
        const r = bootChip(chip);
        expect(booted(r)).to.equal("ota_0");
        expect(line(r, /^E \(\d+\) esp_image: image at 0x220000 has invalid magic byte/)).to.not.equal(undefined);
        expect(line(r, /^E \(\d+\) boot: OTA app partition slot 1 is not bootable$/)).to.not.equal(undefined);
        expect(r.log.indexOf(line(r, /slot 1 is not bootable/)!)).to.be.lessThan(r.log.indexOf(line(r, /Loaded app from partition at offset 0x120000/)!));
        // a corrupt SHA-256 is caught too
        const corrupt = app("2.0");
        corrupt[corrupt.length - 1]! ^= 0xff;
        const r2 = bootChip(flashWith({ ota_0: app("1.0"), ota_1: corrupt }, encodeOtadata(makeOtaSelectEntry(2, OtaImgState.VALID))));
        expect(booted(r2)).to.equal("ota_0");
        expect(line(r2, /esp_image: Image hash failed - image is corrupt/)).to.not.equal(undefined);
    });

    it("with no bootable app at all: 'No bootable app partitions in the partition table'", () => {
        const r = bootChip(flashWith({}));
        expect(r.ok).to.equal(false);
        expect(r.error!.code).to.equal("ESP_ERR_NOT_FOUND");
        expect(r.log.at(-1)).to.match(/^E \(\d+\) boot: No bootable app partitions in the partition table$/);
        expect(r.log.filter(l => / is not bootable$/.test(l))).to.have.length(3);
    });

    describe("Secure Boot V2", () => {
        const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
        const pem = privateKey.export({ format: "pem", type: "pkcs8" }) as string;
        const digest = keyDigest(publicKeyInfo(pem));
        const secureEfuses = () => {
            const ef = new Efuses("esp32c3");
            ef.burnKey(0, digest, "SECURE_BOOT_DIGEST0");
            ef.burn("SECURE_BOOT_EN", true);
            return ef;
        };
        const signed = signImage(app("1.0"), [loadSigningKey(pem)]);

        it("refuses an unsigned image and boots a signed one", () => {
            const r = bootChip(flashWith({ factory: app("1.0") }, undefined, secureEfuses()));
            expect(r.ok).to.equal(false);
            expect(line(r, /esp_image: Secure boot signature verification failed/)).to.not.equal(undefined);
            expect(line(r, /^E \(\d+\) boot: Factory app partition is not bootable$/)).to.not.equal(undefined);

            const ok = bootChip(flashWith({ factory: signed }, undefined, secureEfuses()));
            expect(booted(ok)).to.equal("factory");
            expect(ok.app!.image.signedBlock).to.equal(0);
            // without secure boot the signed image still boots by its SHA-256
            expect(booted(bootChip(flashWith({ factory: signed })))).to.equal("factory");
        });

        it("refuses an image signed with a revoked key digest", () => {
            const ef = secureEfuses();
            ef.revokeSecureBootKey(0);
            const r = bootChip(flashWith({ factory: signed }, undefined, ef));
            expect(r.ok).to.equal(false);
            expect(r.trace.find(t => t.step === "image")!.detail).to.match(/key digest is revoked in eFuse/);
            expect(line(r, /secure_boot_v2: signature block 0: key digest is revoked/)).to.not.equal(undefined);
        });
    });

    it("anti-rollback: an app whose secure_version is below the eFuse is refused, a VALID slot raises the eFuse", () => {
        const ef = new Efuses("esp32c3");
        ef.updateSecureVersion(2);
        const chip = flashWith({ ota_0: app("old", 1), ota_1: app("new", 3) }, encodeOtadata(makeOtaSelectEntry(1, OtaImgState.VALID)), ef);
        const r = bootChip(chip, { antiRollback: true });
        // ota_0 (active) is below the eFuse, factory is empty, then ota_1 (secure_version 3) is tried upwards and boots
        expect(booted(r)).to.equal("ota_1");
        expect(line(r, /secure_version 1 is lower than the eFuse SECURE_VERSION 2/)).to.not.equal(undefined);
        expect(line(r, /^E \(\d+\) boot: OTA app partition slot 0 is not bootable$/)).to.not.equal(undefined);
        expect(r.trace.some(t => t.step === "anti-rollback" && t.slot === "ota_0" && !t.ok)).to.equal(true);
        expect(bootChip(flashWith({ ota_0: app("old", 1) }, encodeOtadata(makeOtaSelectEntry(1, OtaImgState.VALID)), ef), { antiRollback: true }).ok).to.equal(false);

        const ef2 = new Efuses("esp32c3");
        const chip2 = flashWith({ ota_0: app("v3", 3) }, encodeOtadata(makeOtaSelectEntry(1, OtaImgState.VALID)), ef2);
        const r2 = bootChip(chip2, { antiRollback: true });
        expect(booted(r2)).to.equal("ota_0");
        expect(r2.efuseWrites).to.deep.equal([{ field: "SECURE_VERSION", from: 0, to: 3, reason: "the active otadata entry is VALID (update_anti_rollback)" }]);
        expect(ef2.secureVersion()).to.equal(3);
    });

    it("flash encryption: an image stored encrypted is decrypted transparently and boots", () => {
        const ef = new Efuses("esp32c3");
        const key = new Uint8Array(32).map((_, i) => (i * 7 + 1) & 0xff);
        const plain = app("enc-1");
        const r = buildFlashImage({ chip: "esp32c3", partitions: OTA_CSV, app: plain, encrypt: true, efuses: ef, randomKey: () => key });
        expect(r.generatedKey).to.equal(true);
        expect(ef.flashEncryptionEnabled()).to.equal(true);
        // on flash the app is ciphertext: espsecure's XTS of the plaintext at its address (independent computation)
        expect(Buffer.from(r.image.subarray(SLOT.factory, SLOT.factory + 128))).to.deep.equal(Buffer.from(xtsFlashCrypt(key, SLOT.factory, plain.subarray(0, 128), false)));
        expect(r.image[SLOT.factory]).to.not.equal(0xe9);
        const chip = VirtualEsp32.fromImage(r.image, { efuses: ef });
        const b = bootChip(chip);
        expect(booted(b)).to.equal("factory");
        expect(b.app!.appDesc.version).to.equal("enc-1");
        expect(line(b, /flash_encrypt: flash encryption is enabled \(1 plaintext flashes left\)/)).to.not.equal(undefined);
        // the same flash on a chip without the key burned does not boot (the ROM sees ciphertext)
        expect(bootChip(VirtualEsp32.fromImage(r.image)).ok).to.equal(false);
        // the eFuse summary round-trips the key (read-protected block kept as raw)
        const reloaded = Efuses.fromSummaryJson(JSON.stringify(ef.toSummaryJson({ includeProtected: true })));
        expect(booted(bootChip(VirtualEsp32.fromImage(r.image, { efuses: reloaded })))).to.equal("factory");
        // a real device's summary shows the key as "??": the boot stops with the eFuse error until the key is provided
        const secured = Efuses.fromSummaryJson(JSON.stringify(ef.toSummaryJson()));
        const refused = bootChip(VirtualEsp32.fromImage(r.image, { efuses: secured }));
        expect(refused.ok).to.equal(false);
        expect(refused.error!.code).to.equal("ESP_ERR_EFUSE");
        provideFlashEncryptionKey(secured, key);
        expect(booted(bootChip(VirtualEsp32.fromImage(r.image, { efuses: secured })))).to.equal("factory");
    });

    it("power loss while writing otadata: the next boot still selects a valid slot, deterministically", () => {
        const base = () => flashWith({ ota_0: app("0.9"), ota_1: app("1.0") }, encodeOtadata(makeOtaSelectEntry(1, OtaImgState.VALID), makeOtaSelectEntry(2, OtaImgState.NEW)));
        const outcomes: string[] = [];
        for (const n of [1, 2]) {
            const run = () => {
                const chip = base();
                chip.flash.schedulePowerLoss(chip.flash.opCount + n); // op 1: erase of otadata[1], op 2: the PENDING_VERIFY entry
                const torn = bootChip(chip, { rollback: true });
                expect(torn.ok).to.equal(false);
                expect(torn.error!.code).to.equal("POWER_LOSS");
                expect(torn.otadataWrites.map(w => w.done)).to.deep.equal([false]);
                chip.flash.powerOn();
                const next = bootChip(chip, { rollback: true });
                expect(next.ok).to.equal(true);
                expect(["ota_0", "ota_1"]).to.include(booted(next));
                return `${booted(next)}:${Buffer.from(chip.flashReadRaw(OTADATA, 0x2000)).toString("hex").slice(0, 64)}`;
            };
            const a = run();
            expect(run()).to.equal(a); // same seed, same tear, same outcome
            outcomes.push(a);
        }
        // a torn erase leaves no valid otadata[1]: the bootloader goes back to otadata[0] (seq 1 → ota_0)
        expect(outcomes[0]!.startsWith("ota_0")).to.equal(true);
    });

    it("property: the slot picked matches the spec's rules for random otadata × image validity × rollback", () => {
        const states = [OtaImgState.NEW, OtaImgState.PENDING_VERIFY, OtaImgState.VALID, OtaImgState.INVALID, OtaImgState.ABORTED, OtaImgState.UNDEFINED];
        const entryArb = fc.record({ seq: fc.constantFrom(0xffffffff, 1, 2, 3, 4, 5), state: fc.constantFrom(...states), crcOk: fc.boolean() });
        const images = { factory: app("f"), ota_0: app("a"), ota_1: app("b") };
        fc.assert(
            fc.property(entryArb, entryArb, fc.record({ factory: fc.boolean(), ota_0: fc.boolean(), ota_1: fc.boolean() }), fc.boolean(), (e0, e1, valid, rollback) => {
                const enc = (e: typeof e0) => ({ ...makeOtaSelectEntry(e.seq, e.state), crc: e.crcOk ? otaSelectCrc(e.seq) : (otaSelectCrc(e.seq) ^ 1) >>> 0 });
                const apps: Partial<Record<keyof typeof SLOT, Uint8Array>> = {};
                for (const k of ["factory", "ota_0", "ota_1"] as const) if (valid[k]) apps[k] = images[k];
                const r = bootChip(flashWith(apps, encodeOtadata(enc(e0), enc(e1))), { rollback });
                // the spec, restated: rollback turns PENDING_VERIFY into ABORTED; valid = seq set, CRC right, not INVALID/ABORTED
                const after = [e0, e1].map(e => (rollback && e.state === OtaImgState.PENDING_VERIFY ? { ...e, state: OtaImgState.ABORTED } : e));
                const ok = after.filter(e => e.seq !== 0xffffffff && e.crcOk && e.state !== OtaImgState.INVALID && e.state !== OtaImgState.ABORTED);
                const start = ok.length === 0 ? -1 : (Math.max(...ok.map(e => e.seq)) - 1) % 2;
                const order = [...Array.from({ length: start + 2 }, (_, i) => start - i), ...[0, 1].filter(i => i > start)];
                const name = (i: number) => (i === -1 ? "factory" : `ota_${i}`) as keyof typeof SLOT;
                const expected = order.map(name).find(n => valid[n]);
                expect(booted(r)).to.equal(expected);
            }),
            { numRuns: 60 },
        );
    });

    it("never throws on random damage to the table, otadata or image headers", () => {
        const { image } = buildFlashImage({ chip: "esp32c3", partitions: OTA_CSV, app: app("1") });
        image.set(encodeOtadata(makeOtaSelectEntry(1, OtaImgState.VALID)), OTADATA);
        const areas = [0x0, 0x8000, OTADATA, SLOT.factory];
        fc.assert(
            fc.property(fc.array(fc.record({ area: fc.nat(areas.length - 1), at: fc.nat(0x200), value: fc.nat(255) }), { minLength: 1, maxLength: 8 }), muts => {
                const img = image.slice();
                for (const m of muts) img[areas[m.area]! + m.at] = m.value;
                const r = bootChip(VirtualEsp32.fromImage(img), { rollback: true, antiRollback: true });
                expect(r.ok || r.error !== undefined).to.equal(true);
                expect(r.log.length).to.be.greaterThan(0);
            }),
            { numRuns: 40 },
        );
    });

    it("partition table offset option and parsePartitionCsv agree", () => {
        const entries = parsePartitionCsv(OTA_CSV.replace("0x9000", "0xa000").replace("0x6000,\n", "0x5000,\n"), { offset: 0x9000 });
        const { image } = buildFlashImage({ chip: "esp32c3", partitions: entries, tableOffset: 0x9000, app: app("1") });
        expect(bootChip(VirtualEsp32.fromImage(image)).ok).to.equal(false); // the table is not at 0x8000
        expect(booted(bootChip(VirtualEsp32.fromImage(image, { tableOffset: 0x9000 })))).to.equal("factory");
        expect(createHash("md5").update(image.subarray(0x9000, 0x9000 + 32 * entries.length)).digest()).to.deep.equal(Buffer.from(image.subarray(0x9000 + 32 * entries.length + 16, 0x9000 + 32 * entries.length + 32)));
    });
});
