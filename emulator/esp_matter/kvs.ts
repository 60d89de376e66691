/**
 * connectedhomeip's ESP32 KeyValueStoreManager (src/platform/ESP32/KeyValueStoreManagerImpl.cpp) on the emulated
 * NVS: every value is an nvs blob in namespace "CHIP_KVS"; a key of 16 bytes or more is replaced by
 * HashIfLongKey: SHA-1 of the key, the first 8 bytes as lowercase hex, cut to 15 characters (the original key is
 * not stored by CHIP). Put = nvs_set_blob + nvs_commit, Delete = nvs_erase_key + nvs_commit, EraseAll =
 * nvs_erase_all.
 *
 * `NvsStorageBackend` is the matter.js device's DeviceStorageBackend on top of it. matter.js keys are long
 * (`node0/root.fabrics/fabrics`), so the backend keeps the full key inside the value (u16 length ‖ UTF-8 key ‖
 * value) to list entries at boot; a hash collision between two long keys is detected, not silently merged.
 * Factory reset erases the whole nvs partition, as `esp_matter::factory_reset` → nvs_flash_erase does.
 */
import { createHash } from "node:crypto";
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { mountNvsFlash, type NvsFlash, type NvsFlashHandle, type WritableFlash } from "../nvs/flash_storage.js";
import type { NvsKeys } from "../nvs/encryption.js";
import type { DeviceStorageBackend } from "../device/storage.js";

export const CHIP_KVS_NAMESPACE = "CHIP_KVS";
const NVS_KEY_NAME_MAX_SIZE = 16;

/** The NVS key CHIP uses for `key` (HashIfLongKey). */
export function chipKvsNvsKey(key: string): string {
    const bytes = new TextEncoder().encode(key);
    if (bytes.length < NVS_KEY_NAME_MAX_SIZE) return key;
    return createHash("sha1").update(bytes).digest("hex").slice(0, NVS_KEY_NAME_MAX_SIZE - 1);
}

export interface KvsOptions {
    /** NVS encryption keys (nvs_keys partition) when the nvs partition is encrypted. */
    keys?: NvsKeys;
    file?: string;
}

/** KeyValueStoreManagerImpl: Get / Put / Delete / EraseAll with CHIP_ERROR-like names on failure. */
export class KeyValueStoreManager {
    private nvs: NvsFlash;
    private handle?: NvsFlashHandle;

    constructor(
        private readonly flash: WritableFlash,
        private readonly options: KvsOptions = {},
    ) {
        this.nvs = mountNvsFlash(flash, { keys: options.keys, file: options.file });
    }

    /** The mounted NVS (for inspection). */
    get storage(): NvsFlash {
        return this.nvs;
    }

    private rw(): NvsFlashHandle {
        this.handle ??= this.nvs.open(CHIP_KVS_NAMESPACE, "readwrite");
        return this.handle;
    }

    /** _Get: CHIP_ERROR_PERSISTED_STORAGE_VALUE_NOT_FOUND when missing (ESP_ERR_NVS_NOT_FOUND mapped). */
    get(key: string): Uint8Array {
        try {
            return this.nvs.open(CHIP_KVS_NAMESPACE, "readonly").getBlob(chipKvsNvsKey(key));
        } catch (e) {
            throw mapError(e, key);
        }
    }

    put(key: string, value: Uint8Array): void {
        try {
            const h = this.rw();
            h.setBlob(chipKvsNvsKey(key), value);
            h.commit();
        } catch (e) {
            throw mapError(e, key);
        }
    }

    delete(key: string): void {
        try {
            const h = this.rw();
            h.eraseKey(chipKvsNvsKey(key));
            h.commit();
        } catch (e) {
            throw mapError(e, key);
        }
    }

    eraseAll(): void {
        this.rw().eraseAll();
    }

    /** NVS keys present in CHIP_KVS (hashed names for long keys). */
    nvsKeys(): string[] {
        try {
            return this.nvs.open(CHIP_KVS_NAMESPACE, "readonly").keys().map(k => k.key);
        } catch (e) {
            if (e instanceof EspError && e.code === "ESP_ERR_NVS_NOT_FOUND") return [];
            throw e;
        }
    }

    /** nvs_flash_erase of the whole partition, then a fresh mount (factory reset). */
    erasePartition(): void {
        this.flash.erase(0, this.flash.size);
        this.nvs = mountNvsFlash(this.flash, { keys: this.options.keys, file: this.options.file });
        this.handle = undefined;
    }
}

function mapError(e: unknown, key: string): unknown {
    if (e instanceof EspError && e.code === "ESP_ERR_NVS_NOT_FOUND") {
        return new DiagnosticError("CHIP_ERROR_PERSISTED_STORAGE_VALUE_NOT_FOUND", `KVS key '${key}' not found (${e.code})`, { field: key });
    }
    if (e instanceof EspError && (e.code === "ESP_ERR_NVS_NOT_ENOUGH_SPACE" || e.code === "ESP_ERR_NVS_VALUE_TOO_LONG")) {
        return new DiagnosticError("CHIP_ERROR_PERSISTED_STORAGE_FAILED", `KVS key '${key}': ${e.code}: ${e.message}`, { field: key });
    }
    return e;
}

function envelope(key: string, value: Uint8Array): Uint8Array {
    const k = new TextEncoder().encode(key);
    const out = new Uint8Array(2 + k.length + value.length);
    new DataView(out.buffer).setUint16(0, k.length, true);
    out.set(k, 2);
    out.set(value, 2 + k.length);
    return out;
}

function unwrap(blob: Uint8Array): { key: string; value: Uint8Array } | undefined {
    if (blob.length < 2) return undefined;
    const n = new DataView(blob.buffer, blob.byteOffset, blob.length).getUint16(0, true);
    if (2 + n > blob.length) return undefined;
    try {
        return { key: new TextDecoder("utf-8", { fatal: true }).decode(blob.subarray(2, 2 + n)), value: blob.slice(2 + n) };
    } catch {
        return undefined;
    }
}

/**
 * DeviceStorageBackend on NVS: what the matter.js device persists (fabrics, ACLs, counters) lives on the
 * emulated flash, survives a reboot (a new backend over the same flash region), and `clear()` erases the partition.
 */
export class NvsStorageBackend implements DeviceStorageBackend {
    readonly kvs: KeyValueStoreManager;

    constructor(flash: WritableFlash, options: KvsOptions = {}) {
        this.kvs = new KeyValueStoreManager(flash, options);
    }

    entries(): Array<[string, Uint8Array]> {
        const out: Array<[string, Uint8Array]> = [];
        for (const nvsKey of this.kvs.nvsKeys()) {
            let blob: Uint8Array;
            try {
                blob = this.kvs.storage.open(CHIP_KVS_NAMESPACE, "readonly").getBlob(nvsKey);
            } catch (e) {
                if (e instanceof EspError && (e.code === "ESP_ERR_NVS_NOT_FOUND" || e.code === "ESP_ERR_NVS_TYPE_MISMATCH")) continue;
                throw e;
            }
            const entry = unwrap(blob);
            if (!entry || chipKvsNvsKey(entry.key) !== nvsKey) {
                throw new DiagnosticError("ESP_ERR_NVS_CORRUPT_KEY_PART", `CHIP_KVS/${nvsKey} does not hold a storage entry written by this backend`, { field: nvsKey });
            }
            out.push([entry.key, entry.value]);
        }
        return out;
    }

    get(key: string): Uint8Array | undefined {
        let blob: Uint8Array;
        try {
            blob = this.kvs.get(key);
        } catch (e) {
            if (e instanceof DiagnosticError && e.code === "CHIP_ERROR_PERSISTED_STORAGE_VALUE_NOT_FOUND") return undefined;
            throw e;
        }
        const entry = unwrap(blob);
        if (!entry) throw new DiagnosticError("ESP_ERR_NVS_CORRUPT_KEY_PART", `CHIP_KVS value of '${key}' is not a storage entry`, { field: key });
        if (entry.key !== key) {
            throw new DiagnosticError("CHIP_ERROR_PERSISTED_STORAGE_FAILED", `keys '${key}' and '${entry.key}' hash to the same NVS key ${chipKvsNvsKey(key)}`, { field: key });
        }
        return entry.value;
    }

    set(key: string, value: Uint8Array): void {
        const existing = this.peekKey(key);
        if (existing !== undefined && existing !== key) {
            throw new DiagnosticError("CHIP_ERROR_PERSISTED_STORAGE_FAILED", `keys '${key}' and '${existing}' hash to the same NVS key ${chipKvsNvsKey(key)}`, { field: key });
        }
        this.kvs.put(key, envelope(key, value));
    }

    delete(key: string): void {
        try {
            this.kvs.delete(key);
        } catch (e) {
            if (e instanceof DiagnosticError && e.code === "CHIP_ERROR_PERSISTED_STORAGE_VALUE_NOT_FOUND") return;
            throw e;
        }
    }

    /** Factory reset: the nvs partition is erased. */
    clear(): void {
        this.kvs.erasePartition();
    }

    private peekKey(key: string): string | undefined {
        try {
            return unwrap(this.kvs.get(key))?.key;
        } catch (e) {
            if (e instanceof DiagnosticError && e.code === "CHIP_ERROR_PERSISTED_STORAGE_VALUE_NOT_FOUND") return undefined;
            throw e;
        }
    }
}
