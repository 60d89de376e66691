/**
 * Partition table binary (esp_partition_info_t rows, `<2sBBLL16sL`) encode/decode.
 * Encoding is byte-exact with gen_esp32part `to_binary()`; decoding applies the bootloader's
 * `esp_partition_table_verify()` checks (bootloader_support/src/flash_partitions.c).
 */
import { createHash } from "node:crypto";
import { EspError } from "../esp_common/err.js";
import {
    MAX_PARTITION_LENGTH,
    PARTITION_ENTRY_SIZE,
    type PartitionEntry,
    flagsWord,
} from "./types.js";
import { PartitionTableError } from "./csv.js";

const MAX_ENTRIES = MAX_PARTITION_LENGTH / PARTITION_ENTRY_SIZE; // 96, ESP_PARTITION_TABLE_MAX_ENTRIES

export interface EncodeOptions {
    /** Append the MD5 row (default true; gen_esp32part --disable-md5sum turns it off). */
    md5?: boolean;
    /** Pad to this length with 0xFF (default 0xC00 like gen_esp32part; 0x1000 gives the whole sector). */
    padTo?: number;
}

/** gen_esp32part `PartitionTable.to_binary()`. */
export function encodePartitionTable(entries: readonly PartitionEntry[], options: EncodeOptions = {}): Uint8Array {
    const md5 = options.md5 ?? true;
    const padTo = options.padTo ?? MAX_PARTITION_LENGTH;
    const rowsLen = entries.length * PARTITION_ENTRY_SIZE + (md5 ? PARTITION_ENTRY_SIZE : 0);
    if (rowsLen >= MAX_PARTITION_LENGTH) {
        throw new PartitionTableError("PARTITION_TABLE_INVALID", `Binary partition table length (${rowsLen}) longer than max`);
    }
    const out = new Uint8Array(Math.max(padTo, MAX_PARTITION_LENGTH)).fill(0xff);
    const dv = new DataView(out.buffer);
    entries.forEach((e, i) => {
        const o = i * PARTITION_ENTRY_SIZE;
        for (const [what, v, max] of [["type", e.type, 0xff], ["subtype", e.subtype, 0xff], ["offset", e.offset, 0xffffffff], ["size", e.size, 0xffffffff]] as const) {
            if (!Number.isInteger(v) || v < 0 || v > max) {
                throw new PartitionTableError("PARTITION_TABLE_INVALID", `Partition ${e.name}: ${what} ${v} out of range`, { field: e.name });
            }
        }
        const name = new TextEncoder().encode(e.name);
        if (name.length > 16) throw new PartitionTableError("PARTITION_TABLE_INVALID", `Partition name '${e.name}' longer than 16 bytes`, { field: e.name });
        out[o] = 0xaa;
        out[o + 1] = 0x50;
        out[o + 2] = e.type;
        out[o + 3] = e.subtype;
        dv.setUint32(o + 4, e.offset, true);
        dv.setUint32(o + 8, e.size, true);
        out.fill(0, o + 12, o + 28);
        out.set(name, o + 12);
        dv.setUint32(o + 28, flagsWord(e), true);
    });
    if (md5) {
        const o = entries.length * PARTITION_ENTRY_SIZE;
        out[o] = 0xeb;
        out[o + 1] = 0xeb;
        out.set(createHash("md5").update(out.subarray(0, o)).digest(), o + 16);
    }
    return out;
}

export interface DecodeOptions {
    /** Flash chip size: entries must lie inside it (ESP_ERR_INVALID_SIZE otherwise). */
    chipSize?: number;
    /** Require an MD5 row (CONFIG_PARTITION_TABLE_MD5, default true). */
    requireMd5?: boolean;
    /** Offset of the table in flash, only for error context. */
    baseOffset?: number;
}

export interface DecodedPartitionTable {
    entries: PartitionEntry[];
    /** Whether an MD5 row was present (and matched: a mismatch throws). */
    md5: boolean;
    /** Bytes up to and including the end marker row. */
    length: number;
}

/**
 * Decodes a partition table sector like the bootloader: rows until the end marker (magic 0xFFFF, type and
 * subtype 0xFF), at most one MD5 row whose digest covers every preceding row, entries inside the chip.
 */
export function decodePartitionTable(bytes: Uint8Array, options: DecodeOptions = {}): DecodedPartitionTable {
    const base = options.baseOffset ?? 0;
    const requireMd5 = options.requireMd5 ?? true;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const entries: PartitionEntry[] = [];
    let md5Found = false;
    for (let n = 0; n < MAX_ENTRIES; n++) {
        const o = n * PARTITION_ENTRY_SIZE;
        if (o + PARTITION_ENTRY_SIZE > bytes.length) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `partition table truncated: row ${n} needs bytes up to 0x${(o + 32).toString(16)}, have 0x${bytes.length.toString(16)}`, {
                offset: base + o,
            });
        }
        const magic = dv.getUint16(o, true);
        if (magic === 0x50aa) {
            const offset = dv.getUint32(o + 4, true);
            const size = dv.getUint32(o + 8, true);
            if (options.chipSize !== undefined && (offset > options.chipSize || offset + size > options.chipSize)) {
                throw new EspError(
                    "ESP_ERR_INVALID_SIZE",
                    `partition ${n} invalid - offset 0x${offset.toString(16)} size 0x${size.toString(16)} exceeds flash chip size 0x${options.chipSize.toString(16)}`,
                    { offset: base + o },
                );
            }
            if (md5Found) {
                throw new EspError("ESP_ERR_INVALID_STATE", `partition ${n} follows the MD5 row (the MD5 row must be the last one before the end marker)`, {
                    offset: base + o,
                });
            }
            const nameBytes = bytes.subarray(o + 12, o + 28);
            const nul = nameBytes.indexOf(0);
            const name = new TextDecoder("utf-8", { fatal: false }).decode(nul >= 0 ? nameBytes.subarray(0, nul) : nameBytes);
            const flags = dv.getUint32(o + 28, true);
            const entry: PartitionEntry = {
                name,
                type: bytes[o + 2]!,
                subtype: bytes[o + 3]!,
                offset,
                size,
                encrypted: (flags & 1) !== 0,
                readonly: (flags & 2) !== 0,
            };
            if (flags & ~3) entry.unknownFlags = (flags & ~3) >>> 0;
            entries.push(entry);
        } else if (magic === 0xebeb) {
            if (md5Found) throw new EspError("ESP_ERR_INVALID_STATE", "Only one MD5 checksum is allowed", { offset: base + o });
            const digest = createHash("md5").update(bytes.subarray(0, o)).digest();
            const stored = bytes.subarray(o + 16, o + 32);
            if (!Buffer.from(stored).equals(digest)) {
                throw new EspError(
                    "ESP_ERR_INVALID_CRC",
                    `Incorrect MD5 checksum (computed ${digest.toString("hex")}, stored ${Buffer.from(stored).toString("hex")})`,
                    { offset: base + o + 16 },
                );
            }
            md5Found = true;
        } else if (magic === 0xffff && bytes[o + 2] === 0xff && bytes[o + 3] === 0xff) {
            if (entries.length === 0) {
                throw new EspError("ESP_ERR_INVALID_STATE", "partition table is empty (first row is the end marker)", { offset: base + o });
            }
            if (requireMd5 && !md5Found) {
                throw new EspError("ESP_ERR_INVALID_CRC", "No MD5 found in partition table", { offset: base + o });
            }
            return { entries, md5: md5Found, length: o + PARTITION_ENTRY_SIZE };
        } else {
            throw new EspError("ESP_ERR_INVALID_STATE", `partition ${n} invalid magic number 0x${magic.toString(16)}`, { offset: base + o });
        }
    }
    throw new EspError("ESP_ERR_INVALID_STATE", "partition table has no terminating entry, not valid", { offset: base + MAX_PARTITION_LENGTH });
}

/** True when the bytes start like a binary table (gen_esp32part decides CSV vs binary the same way). */
export function looksLikePartitionBinary(bytes: Uint8Array): boolean {
    return bytes.length >= 2 && bytes[0] === 0xaa && bytes[1] === 0x50;
}
