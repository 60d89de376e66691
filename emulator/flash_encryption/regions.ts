/**
 * Which flash ESP-IDF encrypts when flash encryption is on (security/flash-encryption docs,
 * bootloader_support/src/flash_encrypt.c `encrypt_and_load_partition_table` / `encrypt_partition`):
 * the bootloader, the partition table, every app partition, otadata, nvs_keys and every partition flagged
 * `encrypted`. NVS data partitions are NOT flash-encrypted (NVS encryption uses the keys in nvs_keys).
 * Plus a transparent view that decrypts on read and encrypts on write, like the flash cache / esp_flash_write_encrypted.
 */
import { EspError } from "../esp_common/err.js";
import { DataSubtype, PARTITION_TABLE_OFFSET, PARTITION_TABLE_SIZE, type PartitionEntry, PartitionType } from "../esp_partition/types.js";
import type { FlashIo } from "../spi_flash/flash.js";
import type { FlashCipher } from "./cipher.js";

export interface EncryptedRange {
    offset: number;
    size: number;
    /** "bootloader", "partition_table" or the partition label. */
    what: string;
}

export interface RegionOptions {
    /** CONFIG_PARTITION_TABLE_OFFSET (default 0x8000). */
    tableOffset?: number;
    /** Where the second-stage bootloader starts (ESP32/S2: 0x1000, C3/S3/C6/H2: 0x0). Default 0x0. */
    bootloaderOffset?: number;
}

/** Whether ESP-IDF would encrypt this partition with flash encryption enabled. */
export function isEncryptedPartition(p: PartitionEntry): boolean {
    if (p.encrypted) return true;
    if (p.type === PartitionType.APP) return true;
    if (p.type === PartitionType.BOOTLOADER || p.type === PartitionType.PARTITION_TABLE) return true;
    if (p.type === PartitionType.DATA && (p.subtype === DataSubtype.OTA || p.subtype === DataSubtype.NVS_KEYS)) return true;
    return false;
}

/** The encrypted flash ranges, in address order. */
export function encryptedRanges(table: readonly PartitionEntry[], options: RegionOptions = {}): EncryptedRange[] {
    const tableOffset = options.tableOffset ?? PARTITION_TABLE_OFFSET;
    const boot = options.bootloaderOffset ?? 0;
    const out: EncryptedRange[] = [
        { offset: boot, size: tableOffset - boot, what: "bootloader" },
        { offset: tableOffset, size: PARTITION_TABLE_SIZE, what: "partition_table" },
    ];
    for (const p of table) {
        if (!isEncryptedPartition(p)) continue;
        if (p.type === PartitionType.PARTITION_TABLE && p.offset === tableOffset) continue;
        if (p.type === PartitionType.BOOTLOADER && p.offset === boot) continue;
        out.push({ offset: p.offset, size: p.size, what: p.name });
    }
    return out.filter(r => r.size > 0).sort((a, b) => a.offset - b.offset);
}

/** isEncryptedRegion(table, offset): is the flash byte at `offset` stored encrypted? */
export function isEncryptedRegion(table: readonly PartitionEntry[], offset: number, options: RegionOptions = {}): boolean {
    return encryptedRanges(table, options).some(r => offset >= r.offset && offset < r.offset + r.size);
}

/**
 * A FlashIo over raw (ciphertext) flash that decrypts on read and encrypts on write wherever `isEncrypted(addr)`
 * holds, 16 bytes at a time. Encrypted writes must be 16-byte aligned (esp_flash_write_encrypted).
 * Offsets are absolute flash addresses of `raw` plus `base` (when raw is a region).
 */
export function transparentFlash(raw: FlashIo, cipher: FlashCipher, isEncrypted: (address: number) => boolean, base = 0): FlashIo {
    return {
        size: raw.size,
        read(offset: number, length: number): Uint8Array {
            const start = offset - (offset % 16);
            const end = Math.min(raw.size, Math.ceil((offset + length) / 16) * 16);
            if (offset < 0 || length < 0 || offset + length > raw.size) return raw.read(offset, length); // raw reports the bounds error
            const buf = raw.read(start, end - start);
            for (let a = start; a < end; a += 16) {
                if (a + 16 <= end && isEncrypted(base + a)) buf.set(cipher.decrypt(base + a, buf.subarray(a - start, a - start + 16)), a - start);
            }
            return buf.slice(offset - start, offset - start + length);
        },
        write(offset: number, data: Uint8Array): void {
            let touchesEncrypted = false;
            for (let a = offset - (offset % 16); a < offset + data.length; a += 16) if (isEncrypted(base + a)) touchesEncrypted = true;
            if (!touchesEncrypted) return raw.write(offset, data);
            if (offset % 16 !== 0 || data.length % 16 !== 0) {
                throw new EspError("ESP_ERR_INVALID_ARG", `encrypted write at 0x${(base + offset).toString(16)} (+${data.length}) must be 16-byte aligned`, { offset: base + offset });
            }
            const out = new Uint8Array(data);
            for (let i = 0; i < data.length; i += 16) {
                if (isEncrypted(base + offset + i)) out.set(cipher.encrypt(base + offset + i, data.subarray(i, i + 16)), i);
            }
            raw.write(offset, out);
        },
        erase: (offset: number, length: number) => raw.erase(offset, length),
    };
}
