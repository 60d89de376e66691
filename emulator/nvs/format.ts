/**
 * The NVS on-flash format shared by the generator and the reader (ESP-IDF nvs_flash: nvs_page.hpp,
 * nvs_item_hash_list / nvs_types.hpp): 4096-byte pages of a 32-byte header, a 32-byte entry-state bitmap and
 * 126 entries of 32 bytes. Pure functions over Uint8Array; every multi-byte field is little-endian.
 */
import { crc32leRange, espCrc32 } from "../esp_rom/crc.js";

export const PAGE_SIZE = 4096;
export const ENTRY_SIZE = 32;
export const ENTRIES_PER_PAGE = 126;
export const FIRST_ENTRY_OFFSET = 64;
export const BITMAP_OFFSET = 32;
/** Largest string / v1 blob payload / blob chunk the device accepts: (126 − 1) × 32. */
export const CHUNK_MAX_SIZE = (ENTRIES_PER_PAGE - 1) * ENTRY_SIZE;
/** The largest blob nvs_set_blob takes: 127 full chunks (ESP-IDF documents 508 000 bytes, or less on small partitions). */
export const BLOB_MAX_SIZE = 127 * CHUNK_MAX_SIZE;
export const MAX_KEY_LENGTH = 15;
export const CHUNK_ANY = 0xff;

/** Page header states (nvs_page.hpp PageState). */
export const PageState = {
    UNINITIALIZED: 0xffffffff,
    ACTIVE: 0xfffffffe,
    FULL: 0xfffffffc,
    FREEING: 0xfffffff8,
    CORRUPT: 0xfffffff0,
} as const;

export type PageStateName = keyof typeof PageState | "INVALID";

export function pageStateName(state: number): PageStateName {
    for (const [name, value] of Object.entries(PageState)) if (value === state) return name as keyof typeof PageState;
    return "INVALID";
}

/** Page format versions: v2 (multi-page blobs) 0xFE, v1 0xFF. A smaller byte means a newer format. */
export const NVS_VERSION_2 = 0xfe;
export const NVS_VERSION_1 = 0xff;

/** Entry states in the bitmap (2 bits each). */
export const EntryState = { EMPTY: 3, WRITTEN: 2, ERASED: 0, ILLEGAL: 1 } as const;

/** Item types (nvs_types.hpp ItemType). */
export const ItemType = {
    U8: 0x01,
    I8: 0x11,
    U16: 0x02,
    I16: 0x12,
    U32: 0x04,
    I32: 0x14,
    U64: 0x08,
    I64: 0x18,
    SZ: 0x21,
    BLOB: 0x41,
    BLOB_DATA: 0x42,
    BLOB_IDX: 0x48,
} as const;

export type IntTypeName = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "u64" | "i64";

export const INT_TYPES: Record<IntTypeName, { code: number; bytes: number; signed: boolean; min: bigint; max: bigint }> = {
    u8: { code: ItemType.U8, bytes: 1, signed: false, min: 0n, max: 0xffn },
    i8: { code: ItemType.I8, bytes: 1, signed: true, min: -0x80n, max: 0x7fn },
    u16: { code: ItemType.U16, bytes: 2, signed: false, min: 0n, max: 0xffffn },
    i16: { code: ItemType.I16, bytes: 2, signed: true, min: -0x8000n, max: 0x7fffn },
    u32: { code: ItemType.U32, bytes: 4, signed: false, min: 0n, max: 0xffffffffn },
    i32: { code: ItemType.I32, bytes: 4, signed: true, min: -0x80000000n, max: 0x7fffffffn },
    u64: { code: ItemType.U64, bytes: 8, signed: false, min: 0n, max: 0xffffffffffffffffn },
    i64: { code: ItemType.I64, bytes: 8, signed: true, min: -0x8000000000000000n, max: 0x7fffffffffffffffn },
};

export function intTypeByCode(code: number): IntTypeName | undefined {
    for (const [name, t] of Object.entries(INT_TYPES)) if (t.code === code) return name as IntTypeName;
    return undefined;
}

/** Types whose payload follows the header entry (span > 1 possible). */
export function isVariableLength(type: number): boolean {
    return type === ItemType.SZ || type === ItemType.BLOB || type === ItemType.BLOB_DATA;
}

// ---------------------------------------------------------------------------------------------- page header

export interface PageHeader {
    state: number;
    seq: number;
    version: number;
    crc: number;
    crcOk: boolean;
}

export function headerCrc(header: Uint8Array): number {
    return espCrc32(header.subarray(4, 28));
}

export function encodePageHeader(state: number, seq: number, version: number): Uint8Array {
    const h = new Uint8Array(32).fill(0xff);
    const dv = new DataView(h.buffer);
    dv.setUint32(0, state >>> 0, true);
    dv.setUint32(4, seq >>> 0, true);
    h[8] = version;
    dv.setUint32(28, headerCrc(h), true);
    return h;
}

/** Decodes the first 32 bytes of a page. */
export function decodePageHeader(h: Uint8Array): PageHeader {
    const dv = new DataView(h.buffer, h.byteOffset, 32);
    const crc = dv.getUint32(28, true);
    return { state: dv.getUint32(0, true), seq: dv.getUint32(4, true), version: h[8]!, crc, crcOk: crc === headerCrc(h) };
}

/** Entry state of entry `i` from the 32-byte bitmap. */
export function bitmapState(bitmap: Uint8Array, i: number): number {
    return (bitmap[i >> 2]! >> ((i & 3) * 2)) & 3;
}

export function setBitmapState(bitmap: Uint8Array, i: number, state: number): void {
    const shift = (i & 3) * 2;
    bitmap[i >> 2] = (bitmap[i >> 2]! & ~(3 << shift)) | ((state & 3) << shift);
}

// ---------------------------------------------------------------------------------------------- entries

/** A decoded 32-byte item header (nvs_types.hpp Item). */
export interface Item {
    nsIndex: number;
    type: number;
    span: number;
    chunkIndex: number;
    crc: number;
    crcOk: boolean;
    /** Raw key bytes up to the first NUL (latin1 string: one char per byte, so it compares bytewise). */
    keyRaw: string;
    /** True when the 16-byte key field holds a NUL (the device needs one). */
    keyTerminated: boolean;
    /** Bytes 24..31. */
    data: Uint8Array;
}

/** CRC32 over bytes 0–3 and 8–31 of an entry. */
export function itemCrc(entry: Uint8Array, offset = 0): number {
    return crc32leRange(crc32leRange(0xffffffff, entry, offset, offset + 4), entry, offset + 8, offset + 32);
}

export function decodeItem(entry: Uint8Array): Item {
    const dv = new DataView(entry.buffer, entry.byteOffset, 32);
    const keyField = entry.subarray(8, 24);
    const nul = keyField.indexOf(0);
    const keyBytes = nul < 0 ? keyField : keyField.subarray(0, nul);
    const crc = dv.getUint32(4, true);
    return {
        nsIndex: entry[0]!,
        type: entry[1]!,
        span: entry[2]!,
        chunkIndex: entry[3]!,
        crc,
        crcOk: crc === itemCrc(entry),
        keyRaw: latin1(keyBytes),
        keyTerminated: nul >= 0,
        data: entry.slice(24, 32),
    };
}

/** Builds a 32-byte item header with its CRC. `data` (≤ 8 bytes) goes at 24; unused bytes stay 0xFF. */
export function encodeItem(fields: { nsIndex: number; type: number; span: number; chunkIndex: number; key: Uint8Array; data: Uint8Array }): Uint8Array {
    const e = new Uint8Array(32).fill(0xff);
    writeItem(e, 0, fields.nsIndex, fields.type, fields.span, fields.chunkIndex, fields.key, fields.data);
    return e;
}

/**
 * Writes an item header at `buf[off]` in place: the 32 bytes must be erased (0xFF); the key is NUL-padded to 16
 * bytes, `data` (≤ 8 bytes) goes at 24, the CRC at 4.
 */
export function writeItem(buf: Uint8Array, off: number, nsIndex: number, type: number, span: number, chunkIndex: number, key: Uint8Array, data: Uint8Array): void {
    buf[off] = nsIndex;
    buf[off + 1] = type;
    buf[off + 2] = span;
    buf[off + 3] = chunkIndex;
    buf.fill(0, off + 8, off + 24);
    buf.set(key.length > 16 ? key.subarray(0, 16) : key, off + 8);
    buf.set(data.length > 8 ? data.subarray(0, 8) : data, off + 24);
    writeU32LE(buf, off + 4, itemCrc(buf, off));
}

/** `v` as four little-endian bytes at `buf[at]`. */
export function writeU32LE(buf: Uint8Array, at: number, v: number): void {
    buf[at] = v & 0xff;
    buf[at + 1] = (v >>> 8) & 0xff;
    buf[at + 2] = (v >>> 16) & 0xff;
    buf[at + 3] = (v >>> 24) & 0xff;
}

/** An integer as `bytes` little-endian bytes at `buf[at]` (two's complement when negative), its type's range already checked. */
export function writeIntLE(buf: Uint8Array, at: number, bytes: number, value: bigint): void {
    if (bytes <= 4) {
        const v = Number(BigInt.asUintN(32, value));
        for (let i = 0; i < bytes; i++) buf[at + i] = (v >>> (8 * i)) & 0xff;
        return;
    }
    let v = BigInt.asUintN(8 * bytes, value);
    for (let i = 0; i < bytes; i++) {
        buf[at + i] = Number(v & 0xffn);
        v >>= 8n;
    }
}

export function latin1(bytes: Uint8Array): string {
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
    return s;
}

export function latin1Bytes(s: string): Uint8Array {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
    return out;
}

/** A key as the device compares it: its UTF-8 bytes as a latin1 string. */
export function keyRawOf(key: string): string {
    return latin1(new TextEncoder().encode(key));
}

/** Integer data field: value little-endian, unused bytes 0xFF. */
export function encodeIntData(type: IntTypeName, value: bigint): Uint8Array {
    const t = INT_TYPES[type];
    const d = new Uint8Array(8).fill(0xff);
    let v = BigInt.asUintN(t.bytes * 8, value);
    for (let i = 0; i < t.bytes; i++) {
        d[i] = Number(v & 0xffn);
        v >>= 8n;
    }
    return d;
}

export function decodeIntData(type: IntTypeName, data: Uint8Array): bigint {
    const t = INT_TYPES[type];
    let v = 0n;
    for (let i = t.bytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i]!);
    return t.signed ? BigInt.asIntN(t.bytes * 8, v) : v;
}
