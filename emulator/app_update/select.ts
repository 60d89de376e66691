/**
 * What the bootloader and app_update do with otadata, step for step:
 * bootloader_common_get_active_otadata / bootloader_common_select_otadata, bootloader_utility.c
 * get_selected_boot_partition + the load loop + set_actual_ota_seq, and esp_ota_ops.c esp_rewrite_ota_data /
 * rewrite_ota_seq / esp_ota_current_ota_is_workable. Functions are pure: they return the writes to do
 * (erase the sector, then program the 32-byte entry); `applyOtadataWrites` performs them on a FlashIo.
 */
import { DiagnosticError, EspError } from "../esp_common/err.js";
import type { FlashIo } from "../spi_flash/flash.js";
import {
    type DecodedOtaSelectEntry,
    OTADATA_SECTOR_SIZE,
    OtaImgState,
    type OtaSelectEntry,
    decodeOtaSelectEntry,
    decodeOtadata,
    encodeOtaSelectEntry,
    makeOtaSelectEntry,
    otaSelectCrc,
    otaSelectInvalid,
    otaSelectValid,
    otaStateName,
} from "./otadata.js";

/** FACTORY_INDEX / TEST_APP_INDEX of bootloader_utility.c. */
export const FACTORY_INDEX = -1;
export const TEST_APP_INDEX = -2;

export interface OtadataWrite {
    /** 0 or 1. */
    sector: number;
    /** Offset inside the otadata partition (sector × 0x1000): the sector is erased, then the entry written here. */
    offset: number;
    entry: OtaSelectEntry;
    bytes: Uint8Array;
    /** Why (bootloader / app_update wording). */
    reason: string;
}

function write(sector: number, entry: OtaSelectEntry, reason: string): OtadataWrite {
    return { sector, offset: sector * OTADATA_SECTOR_SIZE, entry, bytes: encodeOtaSelectEntry(entry), reason };
}

/** bootloader_common_select_otadata(s, valid, max=true): the index of the valid entry with the highest seq (ties → 0). */
export function activeOtadata(entries: readonly [OtaSelectEntry, OtaSelectEntry]): -1 | 0 | 1 {
    const v0 = otaSelectValid(entries[0]);
    const v1 = otaSelectValid(entries[1]);
    if (v0 && v1) return Math.max(entries[0].seq >>> 0, entries[1].seq >>> 0) === entries[0].seq >>> 0 ? 0 : 1;
    if (v0) return 0;
    if (v1) return 1;
    return -1;
}

export interface BootSelectConfig {
    /** bs->app_count: number of ota_N app partitions. */
    otaSlots: number;
    /** A factory app partition exists. */
    hasFactory?: boolean;
    /** CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE */
    rollback?: boolean;
    /** CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK */
    antiRollback?: boolean;
}

export interface BootSelection {
    /** The two entries as the bootloader holds them after its own rollback edits. */
    entries: [DecodedOtaSelectEntry, DecodedOtaSelectEntry];
    /** Active otadata sector, -1 if none. */
    active: -1 | 0 | 1;
    /** The start index: FACTORY_INDEX (-1) or an OTA slot number. */
    bootIndex: number;
    /** ota_has_initial_contents: after a successful load of OTA slot i, write {seq i+1, VALID} to sector 0. */
    initialContents: boolean;
    /** The active entry is VALID under anti-rollback: booting it raises SECURE_VERSION to the app's. */
    raiseSecureVersion: boolean;
    /** Writes done before any image is loaded (rollback bookkeeping). */
    writes: OtadataWrite[];
    /** ESP-IDF-style log lines (without timestamps). */
    log: Array<{ level: "I" | "W" | "E" | "D"; text: string }>;
}

/** get_selected_boot_partition() on the two otadata entries (the bytes of the otadata partition). */
export function selectBootPartition(otadata: Uint8Array, config: BootSelectConfig): BootSelection {
    const decoded = decodeOtadata(otadata);
    const entries: [OtaSelectEntry, OtaSelectEntry] = [{ ...decoded[0] }, { ...decoded[1] }];
    const { otaSlots, hasFactory = false, rollback = false, antiRollback = false } = config;
    if (!Number.isInteger(otaSlots) || otaSlots < 0 || otaSlots > 16) {
        throw new EspError("ESP_ERR_INVALID_ARG", `number of OTA app partitions must be 0..16, got ${otaSlots}`);
    }
    const writes: OtadataWrite[] = [];
    const log: BootSelection["log"] = [];
    let bootIndex = FACTORY_INDEX;
    let initialContents = false;
    let raise = false;
    let active: -1 | 0 | 1 = -1;

    if (rollback) {
        for (const i of [0, 1] as const) {
            if (entries[i].state === OtaImgState.PENDING_VERIFY) {
                log.push({ level: "D", text: `otadata[${i}] is marking as ABORTED` });
                entries[i] = { ...entries[i], state: OtaImgState.ABORTED };
                writes.push(write(i, entries[i], `otadata[${i}] was PENDING_VERIFY at boot: the app never confirmed itself, mark ABORTED (rollback)`));
            }
        }
    }
    const badOrErased = (e: OtaSelectEntry): boolean => e.seq >>> 0 === 0xffffffff || e.crc >>> 0 !== otaSelectCrc(e.seq);
    let chooseActive = false;
    if (!antiRollback) {
        if ((otaSelectInvalid(entries[0]) && otaSelectInvalid(entries[1])) || otaSlots === 0) {
            if (hasFactory) {
                log.push({ level: "I", text: "Defaulting to factory image" });
                bootIndex = FACTORY_INDEX;
            } else {
                log.push({ level: "I", text: "No factory image, trying OTA 0" });
                bootIndex = 0;
                if (badOrErased(entries[0]) && badOrErased(entries[1])) initialContents = true;
            }
        } else {
            chooseActive = true;
        }
    } else {
        log.push({ level: "I", text: "Enabled a check secure version of app for anti rollback" });
        if (badOrErased(entries[0]) && badOrErased(entries[1])) {
            log.push({ level: "I", text: "otadata[0..1] in initial state" });
            initialContents = true;
        } else {
            chooseActive = true;
        }
    }
    if (chooseActive) {
        active = activeOtadata(entries);
        if (active !== -1) {
            const seq = (entries[active].seq - 1) >>> 0;
            bootIndex = otaSlots > 0 ? seq % otaSlots : FACTORY_INDEX;
            log.push({ level: "D", text: `Active otadata[${active}]; mapping seq ${seq} -> OTA slot ${bootIndex}` });
            if (rollback && entries[active].state === OtaImgState.NEW) {
                entries[active] = { ...entries[active], state: OtaImgState.PENDING_VERIFY };
                writes.push(write(active, entries[active], `otadata[${active}] is selected as new and marked PENDING_VERIFY state`));
            }
            if (antiRollback && entries[active].state === OtaImgState.VALID) raise = true;
        } else if (hasFactory) {
            log.push({ level: "E", text: "ota data partition invalid, falling back to factory" });
            bootIndex = FACTORY_INDEX;
        } else {
            log.push({ level: "E", text: "ota data partition invalid and no factory, will try all partitions" });
            bootIndex = FACTORY_INDEX;
        }
    }
    const redecoded = entries.map(e => decodeOtaSelectEntry(encodeOtaSelectEntry(e))) as [DecodedOtaSelectEntry, DecodedOtaSelectEntry];
    return { entries: redecoded, active, bootIndex, initialContents, raiseSecureVersion: raise, writes, log };
}

/**
 * The order bootloader_utility_load_boot_image tries slots in: from the start index down to factory, then
 * upwards through the remaining OTA slots, then the test app. Indices: -1 factory, -2 test, 0.. OTA slots.
 */
export function bootCandidates(bootIndex: number, config: { otaSlots: number; hasFactory?: boolean; hasTest?: boolean }): number[] {
    const out: number[] = [];
    for (let i = bootIndex; i >= FACTORY_INDEX; i--) if (i >= 0 ? i < config.otaSlots : config.hasFactory) out.push(i);
    for (let i = bootIndex + 1; i < config.otaSlots; i++) if (i >= 0) out.push(i);
    if (config.hasTest) out.push(TEST_APP_INDEX);
    return out;
}

/** set_actual_ota_seq(): after OTA slot `loadedIndex` loaded, an initial otadata gets {seq index+1, VALID} in sector 0. */
export function writesAfterLoad(selection: Pick<BootSelection, "initialContents">, loadedIndex: number): OtadataWrite[] {
    if (loadedIndex > FACTORY_INDEX && selection.initialContents) {
        const e = makeOtaSelectEntry(loadedIndex + 1, OtaImgState.VALID);
        return [write(0, e, `Set actual ota_seq=${loadedIndex + 1} in otadata[0]`)];
    }
    return [];
}

export function indexName(index: number): string {
    return index === FACTORY_INDEX ? "factory" : index === TEST_APP_INDEX ? "test" : `ota_${index}`;
}

/**
 * esp_ota_set_boot_partition(ota_N): writes the *other* sector with the next seq that maps to slot N, state NEW
 * (rollback enabled) or UNDEFINED. Factory: erase the whole otadata (returned as `eraseAll`).
 */
export function setBootPartitionWrites(
    otadata: Uint8Array,
    target: number | "factory",
    config: { otaSlots: number; rollback?: boolean; appSecureVersion?: number; efuseSecureVersion?: number },
): { writes: OtadataWrite[]; eraseAll: boolean } {
    if (target === "factory") return { writes: [], eraseAll: true };
    const n = config.otaSlots;
    if (!Number.isInteger(target) || target < 0 || target >= n) {
        throw new EspError("ESP_ERR_INVALID_ARG", `OTA slot ${target} does not exist (${n} OTA app partitions)`);
    }
    if (config.appSecureVersion !== undefined && config.efuseSecureVersion !== undefined && config.appSecureVersion < config.efuseSecureVersion) {
        throw new EspError(
            "ESP_ERR_OTA_SMALL_SEC_VER",
            `This a new partition can not be booted due to a secure version is lower than stored in efuse (app ${config.appSecureVersion} < eFuse ${config.efuseSecureVersion}). Partition will not be set as boot partition.`,
        );
    }
    const entries = decodeOtadata(otadata);
    const active = activeOtadata(entries);
    let next: number;
    let newSeq: number;
    if (active !== -1) {
        const seq = entries[active].seq >>> 0;
        const base = (target + 1) % n;
        // esp_rewrite_ota_data: `while (seq > base + i * n) i++;` — solved directly (same uint32 result).
        const i = seq > base ? Math.ceil((seq - base) / n) : 0;
        next = active === 0 ? 1 : 0;
        newSeq = (base + i * n) >>> 0;
    } else {
        next = 0;
        newSeq = target + 1;
    }
    const state = config.rollback ? OtaImgState.NEW : OtaImgState.UNDEFINED;
    const entry: OtaSelectEntry = { seq: newSeq, seqLabel: entries[next]!.seqLabel.slice(), state, crc: otaSelectCrc(newSeq) };
    return { writes: [write(next, entry, `esp_ota_set_boot_partition(ota_${target}): otadata[${next}] seq ${newSeq} state ${otaStateName(state)}`)], eraseAll: false };
}

/**
 * esp_ota_mark_app_valid_cancel_rollback() (valid=true) / esp_ota_mark_app_invalid_rollback_and_reboot() (false)
 * on the active entry. Marking a VALID entry valid again writes nothing.
 */
export function markAppWrites(otadata: Uint8Array, valid: boolean): OtadataWrite[] {
    const entries = decodeOtadata(otadata);
    const active = activeOtadata(entries);
    if (active === -1) throw new EspError("ESP_FAIL", "Running firmware is factory (no valid otadata entry)");
    const e = entries[active];
    if (valid) {
        if (e.state === OtaImgState.VALID) return [];
        return [write(active, { ...e, state: OtaImgState.VALID }, "esp_ota_mark_app_valid_cancel_rollback: OTA[current] partition is marked as VALID")];
    }
    return [write(active, { ...e, state: OtaImgState.INVALID }, "esp_ota_mark_app_invalid_rollback_and_reboot: OTA[current] partition is marked as INVALID")];
}

/** Applies writes to an otadata partition view: erase the sector, program the entry (write_otadata / rewrite_ota_seq). */
export function applyOtadataWrites(io: FlashIo, writes: readonly OtadataWrite[]): void {
    for (const w of writes) {
        io.erase(w.sector * OTADATA_SECTOR_SIZE, OTADATA_SECTOR_SIZE);
        io.write(w.offset, w.bytes);
    }
}

/** Same on a byte array (returns a new array). */
export function applyOtadataWritesToBytes(otadata: Uint8Array, writes: readonly OtadataWrite[]): Uint8Array {
    const out = new Uint8Array(otadata);
    for (const w of writes) {
        if (w.offset + OTADATA_SECTOR_SIZE > out.length) throw new DiagnosticError("ESP_ERR_INVALID_SIZE", "otadata is shorter than two sectors");
        out.fill(0xff, w.sector * OTADATA_SECTOR_SIZE, (w.sector + 1) * OTADATA_SECTOR_SIZE);
        out.set(w.bytes, w.offset);
    }
    return out;
}

// ---- anti-rollback --------------------------------------------------------------------------------------

/** esp_efuse_check_secure_version(): an app may run when its secure_version ≥ the eFuse value (popcount). */
export function antiRollbackAllows(appSecureVersion: number, efuseSecureVersion: number): boolean {
    return appSecureVersion >>> 0 >= efuseSecureVersion;
}

/** esp_efuse_update_secure_version(): the thermometer-coded eFuse word after booting an app (never lowers). */
export function raisedSecureVersionBits(currentBits: number | bigint, appSecureVersion: number, fieldBits = 16): bigint {
    const cur = BigInt(currentBits);
    if (appSecureVersion > fieldBits) {
        throw new EspError("ESP_ERR_INVALID_ARG", `secure_version ${appSecureVersion} exceeds the ${fieldBits}-bit SECURE_VERSION eFuse field`);
    }
    const want = (1n << BigInt(appSecureVersion)) - 1n;
    return cur | want;
}
