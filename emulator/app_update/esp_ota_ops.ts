/**
 * esp_ota_ops.c over a flash + partition table: esp_ota_begin / esp_ota_write / esp_ota_end / esp_ota_abort,
 * esp_ota_set_boot_partition, esp_ota_mark_app_valid_cancel_rollback, esp_ota_mark_app_invalid_rollback_and_reboot,
 * esp_ota_get_next_update_partition and esp_ota_get_state_partition.
 *
 * Power-loss safe ordering as in ESP-IDF: the target slot is erased and written first, the image is verified at
 * esp_ota_end (esp_image_verify incl. the Secure Boot V2 signature), and only esp_ota_set_boot_partition touches
 * otadata — one sector erase + one 32-byte entry write of the *other* sector, so a tear leaves the previous entry
 * as the valid one. Flash encryption is the device's business: `OtaDevice.partition()` encrypts transparently
 * (VirtualEsp32.partition does); writes are buffered to 16-byte multiples like esp_ota_write does for encryption.
 */
import { EspError } from "../esp_common/err.js";
import { type ChipName, type SecureBootTrust, verifyImage, type VerifyImageResult } from "../bootloader_support/index.js";
import { AppSubtype, DataSubtype, isOtaAppSubtype, type PartitionEntry, PartitionType } from "../esp_partition/index.js";
import type { FlashIo } from "../spi_flash/flash.js";
import { decodeOtadata, OTADATA_PARTITION_SIZE, OtaImgState, otaStateName } from "./otadata.js";
import { activeOtadata, applyOtadataWrites, markAppWrites, setBootPartitionWrites } from "./select.js";

/** OTA_SIZE_UNKNOWN: erase the whole partition at esp_ota_begin. */
export const OTA_SIZE_UNKNOWN = 0xffffffff;
/** OTA_WITH_SEQUENTIAL_WRITES: erase sector by sector while writing. */
export const OTA_WITH_SEQUENTIAL_WRITES = 0xfffffffe;

const SECTOR = 0x1000;

/** What esp_ota_ops needs from the chip (VirtualEsp32 fits). */
export interface OtaDevice {
    readonly partitionTable: readonly PartitionEntry[];
    /** esp_partition_read/write/erase on a partition (decrypting/encrypting when flash encryption is on). */
    partition(entry: Pick<PartitionEntry, "offset" | "size" | "name">): FlashIo;
}

export interface EspOtaConfig {
    /** The partition the running app was loaded from (esp_ota_get_running_partition). */
    running: PartitionEntry;
    /** Chip the images must be built for (esp_image_verify chip id check). */
    chip?: ChipName | string | number;
    chipRevision?: number;
    /** CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE: set_boot_partition writes state NEW (else UNDEFINED). */
    rollback?: boolean;
    /** CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK: the eFuse SECURE_VERSION an image must reach. */
    efuseSecureVersion?: number;
    /** Secure Boot V2 on: the non-revoked eFuse key digests images must be signed with. */
    secureBoot?: SecureBootTrust;
}

export interface OtaHandle {
    readonly id: number;
    readonly partition: PartitionEntry;
    /** Bytes accepted by esp_ota_write so far. */
    readonly written: number;
}

interface HandleState {
    id: number;
    partition: PartitionEntry;
    io: FlashIo;
    written: number;
    /** Bytes not yet programmed (fewer than 16). */
    pending: Uint8Array;
    /** Sequential-erase mode: next sector not yet erased. */
    erasedUpTo: number;
    sequentialErase: boolean;
    ended: boolean;
}

export interface OtaEndResult {
    partition: PartitionEntry;
    verify: VerifyImageResult;
    imageLength: number;
    secureVersion: number;
}

let nextHandle = 1;

export class EspOta {
    readonly #dev: OtaDevice;
    readonly #config: EspOtaConfig;
    readonly #handles = new Map<number, HandleState>();

    constructor(dev: OtaDevice, config: EspOtaConfig) {
        this.#dev = dev;
        this.#config = config;
    }

    get config(): Readonly<EspOtaConfig> {
        return this.#config;
    }

    otaPartitions(): PartitionEntry[] {
        return this.#dev.partitionTable.filter(p => p.type === PartitionType.APP && isOtaAppSubtype(p.subtype)).sort((a, b) => a.subtype - b.subtype);
    }

    otadataPartition(): PartitionEntry {
        const p = this.#dev.partitionTable.find(e => e.type === PartitionType.DATA && e.subtype === DataSubtype.OTA);
        if (!p) throw new EspError("ESP_ERR_NOT_FOUND", "no otadata partition (data/ota) in the partition table");
        if (p.size < OTADATA_PARTITION_SIZE) throw new EspError("ESP_ERR_INVALID_SIZE", `otadata is 0x${p.size.toString(16)} bytes, needs 0x2000`);
        return p;
    }

    getRunningPartition(): PartitionEntry {
        return this.#config.running;
    }

    /** esp_ota_get_next_update_partition(NULL): the OTA slot after the running one (wrapping), never the running one. */
    getNextUpdatePartition(start?: PartitionEntry): PartitionEntry {
        const slots = this.otaPartitions();
        if (slots.length === 0) throw new EspError("ESP_ERR_NOT_FOUND", "no OTA app partitions (ota_0..ota_15)");
        const from = start ?? this.#config.running;
        const i = slots.findIndex(p => p.offset === from.offset);
        const next = i === -1 ? slots[0]! : slots[(i + 1) % slots.length]!;
        if (next.offset === this.#config.running.offset) throw new EspError("ESP_ERR_NOT_FOUND", "the only OTA slot is the running partition");
        return next;
    }

    /** esp_ota_get_state_partition(): the otadata state of an OTA slot (ESP_ERR_NOT_FOUND when no entry maps to it). */
    getStatePartition(partition: PartitionEntry): number {
        const slot = this.#slotIndex(partition);
        const entries = decodeOtadata(this.#otadataIo().read(0, OTADATA_PARTITION_SIZE));
        const n = this.otaPartitions().length;
        for (const e of [...entries].sort((a, b) => (b.seq >>> 0) - (a.seq >>> 0))) {
            if (!e.crcOk || e.seq >>> 0 === 0xffffffff) continue;
            if ((e.seq - 1) % n === slot) return e.state;
        }
        throw new EspError("ESP_ERR_NOT_FOUND", `no otadata entry for ${partition.name}`);
    }

    /** esp_ota_begin(): erases the target (whole partition, `imageSize` rounded up to sectors, or sector by sector). */
    begin(partition: PartitionEntry, imageSize: number = OTA_SIZE_UNKNOWN): OtaHandle {
        this.#slotIndex(partition); // must be an OTA app slot
        if (partition.offset === this.#config.running.offset) {
            throw new EspError("ESP_ERR_OTA_PARTITION_CONFLICT", `${partition.name} is the running partition: cannot write it`);
        }
        if (this.#config.rollback && this.#config.running.subtype !== AppSubtype.FACTORY) {
            let state: number | undefined;
            try {
                state = this.getStatePartition(this.#config.running);
            } catch {
                state = undefined;
            }
            if (state === OtaImgState.PENDING_VERIFY) {
                throw new EspError(
                    "ESP_ERR_OTA_ROLLBACK_INVALID_STATE",
                    "Running app is still PENDING_VERIFY: confirm it (esp_ota_mark_app_valid_cancel_rollback) before a new update",
                );
            }
        }
        if (imageSize !== OTA_SIZE_UNKNOWN && imageSize !== OTA_WITH_SEQUENTIAL_WRITES && (imageSize < 0 || imageSize > partition.size)) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `image size ${imageSize} does not fit ${partition.name} (0x${partition.size.toString(16)} bytes)`);
        }
        const io = this.#dev.partition(partition);
        const sequentialErase = imageSize === OTA_WITH_SEQUENTIAL_WRITES;
        if (!sequentialErase) {
            const len = imageSize === OTA_SIZE_UNKNOWN ? partition.size : Math.ceil(imageSize / SECTOR) * SECTOR;
            if (len > 0) io.erase(0, len);
        }
        const h: HandleState = { id: nextHandle++, partition, io, written: 0, pending: new Uint8Array(0), erasedUpTo: 0, sequentialErase, ended: false };
        this.#handles.set(h.id, h);
        return this.#view(h);
    }

    /** esp_ota_write(): sequential; the first byte must be the image magic 0xE9. */
    write(handle: OtaHandle, data: Uint8Array): void {
        const h = this.#handle(handle);
        if (data.length === 0) return;
        if (h.written === 0 && data[0] !== 0xe9) {
            throw new EspError("ESP_ERR_OTA_VALIDATE_FAILED", `OTA image has invalid magic byte (expected 0xE9, saw 0x${data[0]!.toString(16).padStart(2, "0")})`);
        }
        if (h.written + data.length > h.partition.size) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `image larger than ${h.partition.name} (0x${h.partition.size.toString(16)} bytes)`);
        }
        const start = h.written - h.pending.length;
        const joined = new Uint8Array(h.pending.length + data.length);
        joined.set(h.pending);
        joined.set(data, h.pending.length);
        const full = joined.length - (joined.length % 16);
        if (full > 0) this.#program(h, start, joined.subarray(0, full));
        h.pending = joined.slice(full);
        h.written += data.length;
    }

    /** esp_ota_abort(): forget the handle (the slot stays as written; it is not bootable without otadata). */
    abort(handle: OtaHandle): void {
        this.#handles.delete(handle.id);
    }

    /** esp_ota_end(): flushes, then esp_image_verify (checksum, hash or Secure Boot V2 signature, chip, size). */
    end(handle: OtaHandle): OtaEndResult {
        const h = this.#handle(handle);
        this.#handles.delete(h.id);
        if (h.written === 0) throw new EspError("ESP_ERR_OTA_VALIDATE_FAILED", "esp_ota_end without any data written");
        if (h.pending.length > 0) {
            const block = new Uint8Array(16).fill(0xff);
            block.set(h.pending);
            this.#program(h, h.written - h.pending.length, block);
            h.pending = new Uint8Array(0);
        }
        h.ended = true;
        return this.#verify(h.partition, h.io, h.written);
    }

    /** Verifies what a slot holds now (esp_ota_set_boot_partition does this before touching otadata). */
    verifyPartition(partition: PartitionEntry): OtaEndResult {
        return this.#verify(partition, this.#dev.partition(partition), partition.size);
    }

    /**
     * esp_ota_set_boot_partition(): verify the image in the slot, check anti-rollback, then write the other otadata
     * sector (erase, then the 32-byte entry). Returns the new state written.
     */
    setBootPartition(partition: PartitionEntry): { sector: number; seq: number; state: string } {
        const slot = this.#slotIndex(partition);
        const v = this.verifyPartition(partition);
        const io = this.#otadataIo();
        const { writes } = setBootPartitionWrites(io.read(0, OTADATA_PARTITION_SIZE), slot, {
            otaSlots: this.otaPartitions().length,
            rollback: this.#config.rollback ?? false,
            appSecureVersion: v.secureVersion,
            ...(this.#config.efuseSecureVersion !== undefined ? { efuseSecureVersion: this.#config.efuseSecureVersion } : {}),
        });
        applyOtadataWrites(io, writes);
        const w = writes[0]!;
        return { sector: w.sector, seq: w.entry.seq, state: otaStateName(w.entry.state) };
    }

    /** esp_ota_mark_app_valid_cancel_rollback(). */
    markAppValidCancelRollback(): void {
        if (this.#config.running.subtype === AppSubtype.FACTORY) return;
        const io = this.#otadataIo();
        applyOtadataWrites(io, markAppWrites(io.read(0, OTADATA_PARTITION_SIZE), true));
    }

    /** esp_ota_mark_app_invalid_rollback_and_reboot() without the reboot (the caller reboots). */
    markAppInvalidRollback(): void {
        const io = this.#otadataIo();
        const entries = decodeOtadata(io.read(0, OTADATA_PARTITION_SIZE));
        if (activeOtadata(entries) === -1) throw new EspError("ESP_FAIL", "Running firmware is factory: nothing to roll back to");
        applyOtadataWrites(io, markAppWrites(io.read(0, OTADATA_PARTITION_SIZE), false));
    }

    #verify(partition: PartitionEntry, io: FlashIo, written: number): OtaEndResult {
        // read the image (+ the signature sector with secure boot) as the bootloader would
        const length = Math.min(partition.size, this.#config.secureBoot ? Math.ceil(written / SECTOR) * SECTOR + SECTOR : written);
        const bytes = io.read(0, Math.min(length, partition.size));
        const verify = verifyImage(bytes, {
            ...(this.#config.chip !== undefined ? { chip: this.#config.chip } : {}),
            ...(this.#config.chipRevision !== undefined ? { chipRevision: this.#config.chipRevision } : {}),
            ...(this.#config.secureBoot ? { secureBoot: this.#config.secureBoot } : {}),
            partitionSize: partition.size,
            partitionOffset: partition.offset,
        });
        if (!verify.ok) {
            throw new EspError(verify.reason?.startsWith("Secure boot") ? "ESP_ERR_IMAGE_INVALID" : "ESP_ERR_OTA_VALIDATE_FAILED", `${partition.name}: ${verify.reason ?? "image invalid"}`, {
                offset: partition.offset,
            });
        }
        return { partition, verify, imageLength: verify.imageLength, secureVersion: verify.secureVersion ?? 0 };
    }

    #program(h: HandleState, offset: number, data: Uint8Array): void {
        if (h.sequentialErase) {
            const end = offset + data.length;
            while (h.erasedUpTo < end) {
                h.io.erase(h.erasedUpTo, SECTOR);
                h.erasedUpTo += SECTOR;
            }
        }
        h.io.write(offset, data);
    }

    #otadataIo(): FlashIo {
        return this.#dev.partition(this.otadataPartition());
    }

    #slotIndex(partition: PartitionEntry): number {
        const i = this.otaPartitions().findIndex(p => p.offset === partition.offset);
        if (i === -1) throw new EspError("ESP_ERR_INVALID_ARG", `${partition.name} is not an OTA app partition`);
        return i;
    }

    #handle(handle: OtaHandle): HandleState {
        const h = this.#handles.get(handle.id);
        if (!h) throw new EspError("ESP_ERR_INVALID_ARG", `OTA handle ${handle.id} is not open (ended or aborted)`);
        return h;
    }

    #view(h: HandleState): OtaHandle {
        return {
            id: h.id,
            partition: h.partition,
            get written() {
                return h.written;
            },
        };
    }
}
