/**
 * The 2nd-stage bootloader's decisions (bootloader_start.c, bootloader_utility.c, flash_partitions.c,
 * esp_image_format.c) on a VirtualEsp32, in the order the chip makes them:
 *
 * 1. ROM: the bootloader image at 0x1000 (ESP32) / 0x0 must start with the image magic.
 * 2. bootloader_utility_load_partition_table: the table at CONFIG_PARTITION_TABLE_OFFSET (magic, MD5, sizes),
 *    printed as ESP-IDF prints it.
 * 3. get_selected_boot_partition: otadata (rollback: PENDING_VERIFY → ABORTED, NEW → PENDING_VERIFY;
 *    anti-rollback: a VALID active slot raises SECURE_VERSION).
 * 4. bootloader_utility_load_boot_image: from the selected slot down to factory, then up, then test; each
 *    candidate passes check_anti_rollback and esp_image_verify (magic, chip id, checksum, SHA-256 or the
 *    Secure Boot V2 signature against the non-revoked eFuse digests, image + signature fit the partition).
 *
 * otadata and eFuse writes go through the chip (encrypted when flash encryption is on), so a power loss
 * injected into the NorFlash tears them exactly where the chip would. Every decision is also in `trace`.
 */
import { DiagnosticError } from "../esp_common/err.js";
import {
    applyOtadataWrites,
    type BootSelection,
    bootCandidates,
    FACTORY_INDEX,
    indexName,
    type OtadataWrite,
    otaStateName,
    selectBootPartition,
    TEST_APP_INDEX,
    writesAfterLoad,
} from "../app_update/index.js";
import { APP_DESC_OFFSET, type AppDescriptor, decodeAppDescriptor, matterSoftwareVersion, verifyImage, type VerifyImageResult } from "../bootloader_support/index.js";
import { alignUp } from "../bootloader_support/image_format.js";
import { AppSubtype, DataSubtype, decodePartitionTable, isOtaAppSubtype, PARTITION_TABLE_SIZE, type PartitionEntry, PartitionType, subtypeName } from "../esp_partition/index.js";
import { PowerLossError } from "../spi_flash/index.js";
import { BootLog } from "./boot_log.js";
import type { VirtualEsp32 } from "./chip.js";

/** sdkconfig options the bootloader and the app were built with. */
export interface BootOptions {
    /** CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE */
    rollback?: boolean;
    /** CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK */
    antiRollback?: boolean;
    /** Chip revision (major*100+minor) the image's min/max revision is checked against; default a current revision per chip. */
    chipRevision?: number;
    /** The bootloader's ESP-IDF version in the banner (default v5.5.1). */
    idfVersion?: string;
    /** Continue this log (and its clock) instead of starting a new one. */
    log?: BootLog;
}

export type BootStep =
    | "rom"
    | "flash-encryption"
    | "secure-boot"
    | "partition-table"
    | "otadata"
    | "otadata-write"
    | "anti-rollback"
    | "image"
    | "efuse-write"
    | "select"
    | "power-loss";

/** One decision of the bootloader, for tests and reports. */
export interface BootDecision {
    step: BootStep;
    ok: boolean;
    detail: string;
    /** esp_err_t name (or POWER_LOSS) when not ok. */
    code?: string;
    /** "factory", "ota_0", …, "test" */
    slot?: string;
    offset?: number;
}

export interface BootPartitionInfo {
    label: string;
    type: number;
    subtype: string;
    offset: number;
    size: number;
}

export interface BootAppInfo {
    partition: BootPartitionInfo;
    /** -1 factory, -2 test, 0.. OTA slot */
    index: number;
    image: { chipId: number; entryAddr: number; imageLength: number; segments: Array<{ loadAddr: number; length: number }>; signedBlock: number | null };
    appDesc: { version: string; projectName: string; secureVersion: number; idfVer: string; time: string; date: string; appElfSha256: string; matterSoftwareVersion?: number };
    secureVersion: number;
}

export interface OtadataWriteRecord {
    sector: number;
    seq: number;
    state: string;
    reason: string;
    /** false when power was lost during it. */
    done: boolean;
}

export interface EfuseWriteRecord {
    field: string;
    from: number;
    to: number;
    reason: string;
}

export interface BootResult {
    ok: boolean;
    /** The console, ROM lines included. */
    log: string[];
    trace: BootDecision[];
    app?: BootAppInfo;
    /** The partition table as read (empty when it could not be read). */
    partitions: PartitionEntry[];
    /** The otadata decision (undefined when there is no otadata partition or the table failed). */
    selection?: { active: number; bootSlot: string; states: [string, string] };
    otadataWrites: OtadataWriteRecord[];
    efuseWrites: EfuseWriteRecord[];
    /** Why the boot failed (esp_err_t name / POWER_LOSS and the message). */
    error?: { code: string; message: string };
    /** The log object, to continue the clock in the app. */
    console: BootLog;
}

const BOOT = "boot";
const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

/** Default chip revision per chip (what a current module reports). */
const CHIP_REVISION: Record<string, number> = { esp32: 300, esp32c3: 4, esp32s3: 2, esp32c6: 1, esp32h2: 1 };

/** The "Usage" column of bootloader_utility_load_partition_table. */
export function partitionUsage(p: PartitionEntry): string {
    if (p.type === PartitionType.APP) {
        if (p.subtype === AppSubtype.FACTORY) return "factory app";
        if (p.subtype === AppSubtype.TEST) return "test app";
        if (isOtaAppSubtype(p.subtype)) return "OTA app";
        return "Unknown app";
    }
    if (p.type === PartitionType.DATA) {
        switch (p.subtype) {
            case DataSubtype.OTA:
                return "OTA data";
            case DataSubtype.PHY:
                return "RF data";
            case DataSubtype.NVS:
                return "WiFi data";
            case DataSubtype.NVS_KEYS:
                return "NVS keys";
            case DataSubtype.EFUSE:
                return "efuse";
            default:
                return "Unknown data";
        }
    }
    if (p.type === PartitionType.BOOTLOADER) return "bootloader";
    if (p.type === PartitionType.PARTITION_TABLE) return "partition table";
    return "unknown";
}

function partitionInfo(p: PartitionEntry): BootPartitionInfo {
    return { label: p.name, type: p.type, subtype: subtypeName(p.type, p.subtype) ?? `0x${p.subtype.toString(16)}`, offset: p.offset, size: p.size };
}

/** Reads the app image in a partition: header and segments walked first, so only the image (+ signature sector) is read. */
export function readAppImage(chip: VirtualEsp32, part: Pick<PartitionEntry, "offset" | "size">, secureBoot: boolean): Uint8Array {
    const read = (o: number, l: number) => chip.flashRead(part.offset + o, Math.max(0, Math.min(l, part.size - o)));
    const head = read(0, 24);
    let length = Math.min(part.size, 0x10000);
    if (head.length === 24 && head[0] === 0xe9) {
        let off = 24;
        const count = head[1]!;
        let ok = count <= 16;
        for (let i = 0; ok && i < count; i++) {
            if (off + 8 > part.size) {
                ok = false;
                break;
            }
            const sh = read(off, 8);
            const len = new DataView(sh.buffer, sh.byteOffset, 8).getUint32(4, true);
            off += 8 + len;
            if (off > part.size) ok = false;
        }
        if (ok) {
            let end = alignUp(off + 1, 16);
            if (head[23] !== 0) end += 32;
            if (secureBoot) end = alignUp(end, 0x1000) + 0x1000;
            length = Math.min(part.size, end);
        }
    }
    return read(0, length);
}

/**
 * bootloader_common_get_partition_description: esp_app_desc_t at partition offset + 0x20 (ESP_ERR_NOT_FOUND when
 * its magic word is wrong).
 */
export function partitionDescription(chip: VirtualEsp32, part: Pick<PartitionEntry, "offset" | "size">): AppDescriptor | undefined {
    if (part.size < APP_DESC_OFFSET + 256) return undefined;
    return decodeAppDescriptor(chip.flashRead(part.offset + APP_DESC_OFFSET, 256));
}

function popcount(v: bigint): number {
    let n = 0;
    for (let x = v; x > 0n; x >>= 1n) n += Number(x & 1n);
    return n;
}

/** The Secure Boot V2 trust from the eFuses: non-revoked digests, and the revoked ones (named in reasons). */
export function secureBootTrust(chip: VirtualEsp32): { digests: Uint8Array[]; revokedDigests: Uint8Array[] } {
    const ef = chip.efuses;
    const digests = ef.secureBootDigests().map(d => d.digest);
    const revokedDigests: Uint8Array[] = [];
    for (const kb of ef.keyBlocks()) {
        const m = /^SECURE_BOOT_DIGEST([0-2])$/.exec(kb.purpose);
        if (m && ef.getBool(`SECURE_BOOT_KEY_REVOKE${m[1]}`)) {
            const d = ef.getBytes(kb.block);
            if (d) revokedDigests.push(d);
        }
    }
    return { digests, revokedDigests };
}

/** Boots the chip: the 2nd-stage bootloader's decisions, its console and a trace. Never throws for bad flash contents. */
export function bootChip(chip: VirtualEsp32, options: BootOptions = {}): BootResult {
    const log = options.log ?? new BootLog();
    const trace: BootDecision[] = [];
    const otadataWrites: OtadataWriteRecord[] = [];
    const efuseWrites: EfuseWriteRecord[] = [];
    let partitions: PartitionEntry[] = [];
    let selectionInfo: BootResult["selection"];
    const finish = (ok: boolean, extra: Partial<BootResult> = {}): BootResult => ({
        ok,
        log: log.lines,
        trace,
        partitions,
        ...(selectionInfo ? { selection: selectionInfo } : {}),
        otadataWrites,
        efuseWrites,
        console: log,
        ...extra,
    });
    const fail = (code: string, message: string): BootResult => finish(false, { error: { code, message } });

    try {
        return run();
    } catch (e) {
        if (e instanceof PowerLossError) {
            trace.push({ step: "power-loss", ok: false, code: "POWER_LOSS", detail: e.message, offset: e.op.offset });
            return fail("POWER_LOSS", e.message);
        }
        if (e instanceof DiagnosticError) {
            trace.push({ step: "rom", ok: false, code: e.code, detail: e.message });
            log.e(BOOT, `${e.code}: ${e.message}`);
            return fail(e.code, e.message);
        }
        throw e;
    }

    function run(): BootResult {
        const ef = chip.efuses;
        const rev = options.chipRevision ?? CHIP_REVISION[chip.chip] ?? 0;
        // ---- ROM ------------------------------------------------------------------------------------------
        const romName = chip.chip === "esp32" ? "ets Jun  8 2016 00:22:57" : `ESP-ROM:${chip.chip}-api1-20210207`;
        log.rom(romName);
        log.rom(chip.chip === "esp32" ? "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)" : "rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)");
        const bl = chip.flashRead(chip.bootloaderOffset, 24);
        const magic = new DataView(bl.buffer, bl.byteOffset, 4).getUint32(0, true);
        if (bl[0] !== 0xe9) {
            const msg = `invalid header: 0x${hex8(magic)}`;
            log.rom(msg);
            trace.push({ step: "rom", ok: false, code: "ESP_ERR_IMAGE_INVALID", detail: `no 2nd-stage bootloader at 0x${chip.bootloaderOffset.toString(16)}: ${msg}`, offset: chip.bootloaderOffset });
            return fail("ESP_ERR_IMAGE_INVALID", `no bootloader image at 0x${chip.bootloaderOffset.toString(16)} (${msg})`);
        }
        const entry = new DataView(bl.buffer, bl.byteOffset, 24).getUint32(4, true);
        log.rom(`SPIWP:0xee`);
        log.rom(`mode:DIO, clock div:1`);
        log.rom(`entry 0x${hex8(entry)}`);
        trace.push({ step: "rom", ok: true, detail: `2nd-stage bootloader image at 0x${chip.bootloaderOffset.toString(16)}`, offset: chip.bootloaderOffset });

        log.i(BOOT, `ESP-IDF ${options.idfVersion ?? "v5.5.1"} 2nd stage bootloader`);
        log.i(BOOT, "compile time Jan  1 2025 12:00:00");
        if (chip.chip === "esp32") log.i(BOOT, "Multicore bootloader");
        log.i(BOOT, `chip revision: v${Math.floor(rev / 100)}.${rev % 100}`);
        const flashMb = chip.flash.size / (1024 * 1024);
        log.i(`boot.${chip.chip}`, "SPI Speed      : 80MHz");
        log.i(`boot.${chip.chip}`, "SPI Mode       : DIO");
        log.i(`boot.${chip.chip}`, `SPI Flash Size : ${flashMb}MB`);
        log.i(BOOT, "Enabling RNG early entropy source...");

        // ---- security state -------------------------------------------------------------------------------
        const secureBoot = ef.secureBootEnabled();
        const trust = secureBoot ? secureBootTrust(chip) : undefined;
        if (secureBoot) {
            trace.push({ step: "secure-boot", ok: true, detail: `Secure Boot V2 on: ${trust!.digests.length} trusted key digest(s), ${trust!.revokedDigests.length} revoked` });
        } else {
            trace.push({ step: "secure-boot", ok: true, detail: "secure boot off: images are checked by checksum and SHA-256 only" });
        }
        if (chip.flashEncryption) {
            const field = ef.field(ef.chip.cryptCnt);
            const left = Math.floor((field.bitLen - popcount(ef.cryptCnt())) / 2);
            const mode = ef.flashEncryptionMode();
            const scheme = chip.cipher()!.scheme;
            trace.push({ step: "flash-encryption", ok: true, detail: `flash encryption on (${mode} mode, ${scheme}): encrypted regions are decrypted on read` });
            log.i("flash_encrypt", `flash encryption is enabled (${left} plaintext flashes left)`);
        } else {
            trace.push({ step: "flash-encryption", ok: true, detail: "flash encryption off: flash is read as stored" });
        }

        // ---- partition table -----------------------------------------------------------------------------
        const tableBytes = chip.flashRead(chip.tableOffset, PARTITION_TABLE_SIZE);
        try {
            partitions = decodePartitionTable(tableBytes, { chipSize: chip.flash.size, baseOffset: chip.tableOffset }).entries;
        } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
            log.e("flash_parts", e.message);
            log.e(BOOT, "Failed to verify partition table");
            log.e(BOOT, "load partition table error!");
            trace.push({ step: "partition-table", ok: false, code: e.code, detail: `partition table at 0x${chip.tableOffset.toString(16)}: ${e.message}`, offset: e.context.offset ?? chip.tableOffset });
            return fail(e.code, `partition table at 0x${chip.tableOffset.toString(16)}: ${e.message}`);
        }
        chip.setPartitionTable(partitions);
        log.i(BOOT, "Partition Table:");
        log.i(BOOT, "## Label            Usage          Type ST Offset   Length");
        partitions.forEach((p, i) => {
            log.i(BOOT, `${String(i).padStart(2)} ${p.name.padEnd(16)} ${partitionUsage(p).padEnd(16)} ${p.type.toString(16).padStart(2, "0")} ${p.subtype.toString(16).padStart(2, "0")} ${hex8(p.offset)} ${hex8(p.size)}`);
        });
        log.i(BOOT, "End of partition table");
        trace.push({ step: "partition-table", ok: true, detail: `${partitions.length} partitions at 0x${chip.tableOffset.toString(16)}, MD5 ok`, offset: chip.tableOffset });

        const factory = partitions.find(p => p.type === PartitionType.APP && p.subtype === AppSubtype.FACTORY);
        const test = partitions.find(p => p.type === PartitionType.APP && p.subtype === AppSubtype.TEST);
        const ota: PartitionEntry[] = [];
        for (const p of partitions) if (p.type === PartitionType.APP && isOtaAppSubtype(p.subtype) && !ota[p.subtype - AppSubtype.OTA_MIN]) ota[p.subtype - AppSubtype.OTA_MIN] = p;
        // bs->app_count counts the ota_N rows; index_to_partition finds ota[i] (size 0 when missing → skipped)
        const otaSlots = ota.filter(Boolean).length;
        const otadataPart = partitions.find(p => p.type === PartitionType.DATA && p.subtype === DataSubtype.OTA);
        const partFor = (index: number): PartitionEntry | undefined => (index === FACTORY_INDEX ? factory : index === TEST_APP_INDEX ? test : ota[index]);

        // ---- otadata -------------------------------------------------------------------------------------
        let selection: BootSelection | undefined;
        let bootIndex = FACTORY_INDEX;
        const rollback = options.rollback ?? false;
        const antiRollback = options.antiRollback ?? false;
        if (otadataPart && otaSlots > 0) {
            if (otadataPart.size < 0x2000) {
                log.e(BOOT, `ota data partition size 0x${otadataPart.size.toString(16)} is too small`);
            }
            const bytes = chip.flashRead(otadataPart.offset, Math.min(otadataPart.size, 0x2000));
            try {
                selection = selectBootPartition(bytes, { otaSlots, hasFactory: factory !== undefined, rollback, antiRollback });
            } catch (e) {
                if (!(e instanceof DiagnosticError)) throw e;
                trace.push({ step: "otadata", ok: false, code: e.code, detail: e.message, offset: otadataPart.offset });
                log.e(BOOT, `otadata: ${e.message}`);
            }
            if (selection) {
                bootIndex = selection.bootIndex;
                for (const l of selection.log) log.log(l.level, BOOT, l.text);
                const states = selection.entries.map(e => (e.crcOk ? `seq ${e.seq} ${otaStateName(e.state)}` : e.seq === 0xffffffff ? "empty" : "bad CRC")) as [string, string];
                selectionInfo = { active: selection.active, bootSlot: indexName(bootIndex), states };
                trace.push({
                    step: "otadata",
                    ok: true,
                    slot: indexName(bootIndex),
                    detail: `otadata[0]: ${states[0]}, otadata[1]: ${states[1]}; ${selection.active >= 0 ? `active otadata[${selection.active}]` : "no valid entry"} → ${indexName(bootIndex)}`,
                    offset: otadataPart.offset,
                });
                writeOtadata(otadataPart, selection.writes);
                if (selection.raiseSecureVersion && bootIndex >= 0) raiseSecureVersion(partFor(bootIndex), "the active otadata entry is VALID (update_anti_rollback)");
            }
        } else {
            bootIndex = factory ? FACTORY_INDEX : otaSlots > 0 ? 0 : FACTORY_INDEX;
            if (!factory && otaSlots > 0) log.e(BOOT, "ota data partition invalid and no factory, will try all partitions");
            trace.push({ step: "otadata", ok: true, slot: indexName(bootIndex), detail: otadataPart ? "no OTA app partitions: boot the factory app" : "no otadata partition: boot the factory app" });
        }
        if (!selectionInfo) selectionInfo = { active: -1, bootSlot: indexName(bootIndex), states: ["absent", "absent"] };

        // ---- load loop -----------------------------------------------------------------------------------
        const candidates = bootCandidates(bootIndex, { otaSlots, hasFactory: factory !== undefined, hasTest: test !== undefined });
        for (const index of candidates) {
            const part = partFor(index);
            if (!part || part.size === 0) continue;
            const slot = indexName(index);
            if (index === TEST_APP_INDEX) log.w(BOOT, "Falling back to test app as last resort");
            if (antiRollback) {
                const desc = partitionDescription(chip, part);
                const efuseVersion = ef.secureVersion();
                if (!desc || desc.secureVersion < efuseVersion) {
                    const why = !desc
                        ? `no esp_app_desc_t at 0x${(part.offset + APP_DESC_OFFSET).toString(16)}`
                        : `app secure_version ${desc.secureVersion} is lower than the eFuse SECURE_VERSION ${efuseVersion}`;
                    if (desc) log.e(BOOT, `${slot} at 0x${part.offset.toString(16)}: ${why} (anti-rollback)`);
                    trace.push({ step: "anti-rollback", ok: false, code: desc ? "ESP_ERR_OTA_SMALL_SEC_VER" : "ESP_ERR_NOT_FOUND", slot, detail: why, offset: part.offset });
                    notBootable(index);
                    continue;
                }
                trace.push({ step: "anti-rollback", ok: true, slot, detail: `app secure_version ${desc.secureVersion} ≥ eFuse SECURE_VERSION ${efuseVersion}`, offset: part.offset });
            }
            const bytes = readAppImage(chip, part, secureBoot);
            log.advance(bytes.length / 200_000); // SHA-256 over the image at ~200 MB/s… in ms
            const v: VerifyImageResult = verifyImage(bytes, {
                chip: chip.chip,
                chipRevision: rev,
                partitionOffset: part.offset,
                partitionSize: part.size,
                ...(trust ? { secureBoot: trust } : {}),
            });
            for (const l of v.log) log.log(l.level, l.tag, l.message);
            if (!v.ok) {
                trace.push({ step: "image", ok: false, code: v.code ?? "ESP_ERR_IMAGE_INVALID", slot, detail: v.reason ?? "image invalid", offset: part.offset });
                notBootable(index);
                continue;
            }
            trace.push({
                step: "image",
                ok: true,
                slot,
                detail: `image at 0x${part.offset.toString(16)} verified (${v.imageLength} bytes, ${trust ? `signature block ${v.signature?.block}` : "SHA-256"})`,
                offset: part.offset,
            });
            log.i(BOOT, `Loaded app from partition at offset 0x${part.offset.toString(16)}`);
            if (selection && otadataPart && index >= 0) {
                const after = writesAfterLoad(selection, index);
                writeOtadata(otadataPart, after);
                for (const w of after) log.i(BOOT, w.reason);
                if (after.length > 0 && antiRollback) raiseSecureVersion(part, "initial otadata: the loaded slot becomes VALID (update_anti_rollback)");
            }
            log.i(BOOT, "Disabling RNG early entropy source...");
            trace.push({ step: "select", ok: true, slot, detail: `booting ${slot} (${part.name}) at 0x${part.offset.toString(16)}`, offset: part.offset });
            const desc = v.appDesc;
            const image = v.image!;
            const app: BootAppInfo = {
                partition: partitionInfo(part),
                index,
                image: {
                    chipId: image.header.chipId,
                    entryAddr: image.header.entryAddr,
                    imageLength: v.imageLength,
                    segments: image.segments.map(s => ({ loadAddr: s.loadAddr, length: s.length })),
                    signedBlock: v.signature?.block ?? null,
                },
                appDesc: desc
                    ? {
                          version: desc.version,
                          projectName: desc.projectName,
                          secureVersion: desc.secureVersion,
                          idfVer: desc.idfVer,
                          time: desc.time,
                          date: desc.date,
                          appElfSha256: Buffer.from(desc.appElfSha256).toString("hex"),
                          ...(matterSoftwareVersion(desc) !== undefined ? { matterSoftwareVersion: matterSoftwareVersion(desc)! } : {}),
                      }
                    : { version: "", projectName: "", secureVersion: 0, idfVer: "", time: "", date: "", appElfSha256: "" },
                secureVersion: desc?.secureVersion ?? 0,
            };
            return finish(true, { app });
        }
        log.e(BOOT, "No bootable app partitions in the partition table");
        trace.push({ step: "select", ok: false, code: "ESP_ERR_NOT_FOUND", detail: `no bootable app partition (tried ${candidates.map(indexName).join(", ") || "none"})` });
        return fail("ESP_ERR_NOT_FOUND", "No bootable app partitions in the partition table");
    }

    function notBootable(index: number): void {
        if (index === FACTORY_INDEX) log.e(BOOT, "Factory app partition is not bootable");
        else if (index === TEST_APP_INDEX) log.e(BOOT, "Factory test app partition is not bootable");
        else log.e(BOOT, `OTA app partition slot ${index} is not bootable`);
    }

    function writeOtadata(part: PartitionEntry, writes: readonly OtadataWrite[]): void {
        for (const w of writes) {
            const rec: OtadataWriteRecord = { sector: w.sector, seq: w.entry.seq >>> 0, state: otaStateName(w.entry.state), reason: w.reason, done: false };
            otadataWrites.push(rec);
            trace.push({ step: "otadata-write", ok: true, detail: `otadata[${w.sector}] ← seq ${rec.seq} ${rec.state}: ${w.reason}`, offset: part.offset + w.offset });
            applyOtadataWrites(chip.partition(part), [w]);
            rec.done = true;
        }
    }

    function raiseSecureVersion(part: PartitionEntry | undefined, reason: string): void {
        if (!part) return;
        const desc = partitionDescription(chip, part);
        if (!desc) return;
        const before = chip.efuses.secureVersion();
        if (desc.secureVersion <= before) return;
        try {
            chip.efuses.updateSecureVersion(desc.secureVersion);
        } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
            log.e("efuse", `SECURE_VERSION: ${e.message}`);
            trace.push({ step: "efuse-write", ok: false, code: e.code, detail: e.message });
            return;
        }
        efuseWrites.push({ field: "SECURE_VERSION", from: before, to: desc.secureVersion, reason });
        log.i("efuse", `Anti-rollback: SECURE_VERSION raised from ${before} to ${desc.secureVersion}`);
        trace.push({ step: "efuse-write", ok: true, detail: `SECURE_VERSION ${before} → ${desc.secureVersion}: ${reason}` });
    }
}

