/**
 * Reading an NVS partition with the device's rules (ESP-IDF nvs_flash: nvs_page.cpp Page::load /
 * mLoadEntryTable, nvs_pagemanager.cpp, nvs_storage.cpp readItem / readMultiPageBlob).
 *
 * The page/entry layer reads through a `FlashSource` ({ size, read(offset, length) }), so the same code mounts a
 * .bin file (`bytesSource`) or a partition of an emulated flash chip. Mounting scans every page once and keeps
 * an index of item headers; payloads are read (and decrypted) on demand.
 *
 * Rules: pages ordered by sequence number; a bad header CRC or an unknown state → page CORRUPT (skipped); a
 * CRC-valid page whose version byte is below 0xFE (a newer format) → ESP_ERR_NVS_NEW_VERSION_FOUND; an entry
 * with a bad CRC or an inconsistent span is treated as erased; lookups by (namespace, key) follow
 * Storage::findItem: the first page in sequence order holding the key wins (the first entry within a page), except
 * that loading the ACTIVE page erases an earlier duplicate on that page (the later one wins there) and a
 * read-write mount erases the older duplicate of the last item of the last page (PageManager::load: the power
 * loss between writing a new value and erasing the old one); wrong type → ESP_ERR_NVS_TYPE_MISMATCH; missing → ESP_ERR_NVS_NOT_FOUND; payload CRC mismatch →
 * ESP_ERR_NVS_NOT_FOUND; get_blob tries the blob_index (multi-page) then a v1 blob; blob_data without an index is
 * ignored; a read-write mount needs a free page (uninitialised, or corrupt — the device erases those) else
 * ESP_ERR_NVS_NO_FREE_PAGES. With XTS keys every entry is decrypted before its CRC is checked, so wrong keys
 * show up as missing items, as on the device.
 */
import { EspError } from "../esp_common/err.js";
import { espCrc32 } from "../esp_rom/crc.js";
import { decryptEntry, type NvsKeys } from "./encryption.js";
import {
    BITMAP_OFFSET,
    ENTRIES_PER_PAGE,
    ENTRY_SIZE,
    EntryState,
    FIRST_ENTRY_OFFSET,
    INT_TYPES,
    ItemType,
    NVS_VERSION_2,
    PAGE_SIZE,
    PageState,
    bitmapState,
    decodeIntData,
    decodeItem,
    decodePageHeader,
    intTypeByCode,
    isVariableLength,
    keyRawOf,
    latin1Bytes,
    pageStateName,
    type IntTypeName,
    type Item,
    type PageStateName,
} from "./format.js";
import { concatBytes } from "../esp_common/bytes.js";

/** Where partition bytes live: a file image, or a partition of an emulated flash. */
export interface FlashSource {
    readonly size: number;
    /** Returns `length` bytes at `offset` (both inside [0, size]). */
    read(offset: number, length: number): Uint8Array;
}

/** A FlashSource over bytes in memory. */
export function bytesSource(bytes: Uint8Array): FlashSource {
    return {
        size: bytes.length,
        read: (offset, length) => bytes.subarray(offset, offset + length),
    };
}

export interface MountOptions {
    /** XTS keys (NVS encryption). */
    keys?: NvsKeys;
    /** Default true. A read-write mount needs a free page (ESP_ERR_NVS_NO_FREE_PAGES otherwise). */
    readOnly?: boolean;
    /** Named in error contexts. */
    file?: string;
}

export interface NvsPageInfo {
    index: number;
    state: PageStateName;
    seq: number;
    version: number;
    crcOk: boolean;
    /** Written entries according to the bitmap (valid pages only). */
    written?: number;
}

export type NvsTypeName = IntTypeName | "string" | "blob";

export interface NvsEntryView {
    namespace: string;
    key: string;
    type: NvsTypeName;
    /** number for 8–32-bit integers, bigint for u64/i64, string for strings, bytes for blobs. */
    value: number | bigint | string | Uint8Array;
}

export interface NvsProblem {
    namespace?: string;
    key: string;
    code: string;
    message: string;
    offset: number;
}

interface LoadedItem {
    item: Item;
    /** Absolute offset of the header entry in the partition. */
    offset: number;
    /** Ordering key: position in sequence order (larger = later). */
    order: number;
}

export class NvsStorage {
    private readonly byKey = new Map<string, LoadedItem[]>();
    private readonly nsByName = new Map<string, number>();
    private readonly nsNames = new Map<number, string>();
    private readonly pageInfo: NvsPageInfo[] = [];
    /** Pages a read-write mount could take into use. */
    readonly freePages: number;

    private constructor(
        private readonly source: FlashSource,
        private readonly options: MountOptions,
    ) {
        const { size } = source;
        if (!Number.isSafeInteger(size) || size < PAGE_SIZE || size % PAGE_SIZE !== 0) {
            throw new EspError(
                "ESP_ERR_INVALID_SIZE",
                `NVS partition size ${size} is not a positive multiple of 4096 (truncated or extended image?)`,
                { file: options.file, offset: Math.max(0, Math.floor(size / PAGE_SIZE) * PAGE_SIZE) },
            );
        }
        const valid: Array<{ index: number; seq: number; active: boolean }> = [];
        let free = 0;
        for (let p = 0; p < size / PAGE_SIZE; p++) {
            const base = p * PAGE_SIZE;
            const h = decodePageHeader(source.read(base, 32));
            let state = pageStateName(h.state);
            if (h.state === PageState.UNINITIALIZED) {
                // the device checks that an uninitialised page is really erased
                if (!source.read(base, PAGE_SIZE).every(b => b === 0xff)) state = "CORRUPT";
            } else if (h.state === PageState.ACTIVE || h.state === PageState.FULL || h.state === PageState.FREEING) {
                if (!h.crcOk) state = "CORRUPT";
                else if (h.version < NVS_VERSION_2) {
                    throw new EspError(
                        "ESP_ERR_NVS_NEW_VERSION_FOUND",
                        `page ${p} has format version 0x${h.version.toString(16)}, newer than this NVS (0xfe); erase the partition or use a newer reader`,
                        { file: options.file, offset: base + 8 },
                    );
                }
            } else {
                state = "CORRUPT";
            }
            const info: NvsPageInfo = { index: p, state, seq: h.seq, version: h.version, crcOk: h.crcOk };
            if (state === "ACTIVE" || state === "FULL" || state === "FREEING") {
                valid.push({ index: p, seq: h.seq, active: state === "ACTIVE" });
                const bitmap = source.read(base + BITMAP_OFFSET, 32);
                let written = 0;
                for (let i = 0; i < ENTRIES_PER_PAGE; i++) if (bitmapState(bitmap, i) === EntryState.WRITTEN) written++;
                info.written = written;
            } else {
                free++; // UNINITIALIZED, or CORRUPT (erased and reused by the device's page manager)
            }
            this.pageInfo.push(info);
        }
        this.freePages = free;
        if (options.readOnly === false && free === 0) {
            throw new EspError(
                "ESP_ERR_NVS_NO_FREE_PAGES",
                "no free (uninitialised) page: a read-write mount needs one; flag the partition readonly or regenerate it with a larger size",
                { file: options.file },
            );
        }
        valid.sort((a, b) => a.seq - b.seq || a.index - b.index);
        let order = 0;
        let last: LoadedItem[] = [];
        for (const { index, active } of valid) {
            const before = order;
            order = this.loadPage(index, order, active);
            last = this.itemsFrom(before);
        }
        if (options.readOnly === false && last.length > 0) this.eraseDuplicateOfLast(last);
    }

    static mount(source: FlashSource | Uint8Array, options: MountOptions = {}): NvsStorage {
        const src = source instanceof Uint8Array ? bytesSource(source) : source;
        return new NvsStorage(src, { readOnly: true, ...options });
    }

    /** Reads one entry, decrypted when mounted with keys. */
    private entry(offset: number): Uint8Array {
        const raw = this.source.read(offset, ENTRY_SIZE);
        return this.options.keys ? decryptEntry(this.options.keys, offset, raw) : raw;
    }

    /** Items (namespace entries excluded) loaded with order ≥ `from`, i.e. those of the last page loaded. */
    private itemsFrom(from: number): LoadedItem[] {
        const out: LoadedItem[] = [];
        for (const list of this.byKey.values()) for (const li of list) if (li.order >= from) out.push(li);
        return out.sort((a, b) => a.order - b.order);
    }

    /** PageManager::load: the last item of the last page removes its duplicate (same type) from an earlier page. */
    private eraseDuplicateOfLast(lastPage: LoadedItem[]): void {
        const last = lastPage[lastPage.length - 1]!;
        const list = this.byKey.get(mapKey(last.item.nsIndex, last.item.keyRaw));
        if (!list) return;
        const firstPageOrder = lastPage[0]!.order;
        const same = (t: number) => list.findIndex(li => li.order < firstPageOrder && li.item.chunkIndex === last.item.chunkIndex && li.item.type === t);
        let i = same(last.item.type);
        if (i < 0 && last.item.type === ItemType.BLOB_IDX) i = same(ItemType.BLOB);
        if (i >= 0) list.splice(i, 1);
    }

    private loadPage(p: number, order: number, active = false): number {
        const base = p * PAGE_SIZE;
        const bitmap = this.source.read(base + BITMAP_OFFSET, 32);
        let i = 0;
        while (i < ENTRIES_PER_PAGE) {
            if (bitmapState(bitmap, i) !== EntryState.WRITTEN) {
                i++;
                continue;
            }
            const offset = base + FIRST_ENTRY_OFFSET + i * ENTRY_SIZE;
            const item = decodeItem(this.entry(offset));
            if (!item.crcOk || !this.spanOk(item, bitmap, i)) {
                i++; // erased by the device
                continue;
            }
            const loaded: LoadedItem = { item, offset, order: order++ };
            if (item.nsIndex === 0) {
                if (item.type === ItemType.U8) {
                    const idx = item.data[0]!;
                    const old = this.nsByName.get(item.keyRaw);
                    if (old !== undefined && this.nsNames.get(old) === item.keyRaw) this.nsNames.delete(old);
                    this.nsByName.set(item.keyRaw, idx);
                    this.nsNames.set(idx, item.keyRaw);
                }
            } else if (item.nsIndex !== 0xff) {
                const k = mapKey(item.nsIndex, item.keyRaw);
                const list = this.byKey.get(k);
                if (list) {
                    if (active) {
                        // Page::mLoadEntryTable: an earlier item with the same (ns, key, chunk) on the ACTIVE page is erased
                        const dup = list.findIndex(li => li.offset >= base && li.offset < base + PAGE_SIZE && li.item.chunkIndex === item.chunkIndex);
                        if (dup >= 0) list.splice(dup, 1);
                    }
                    list.push(loaded);
                } else this.byKey.set(k, [loaded]);
            }
            i += item.span;
        }
        return order;
    }

    private spanOk(item: Item, bitmap: Uint8Array, i: number): boolean {
        if (item.span === 0 || item.span > ENTRIES_PER_PAGE - i) return false;
        if (!isVariableLength(item.type)) return item.span === 1;
        for (let j = 1; j < item.span; j++) if (bitmapState(bitmap, i + j) !== EntryState.WRITTEN) return false;
        return true;
    }

    // ------------------------------------------------------------------------------------------ queries

    pages(): NvsPageInfo[] {
        return this.pageInfo.map(p => ({ ...p }));
    }

    /** Namespace names (as written, UTF-8 decoded) → index. */
    namespaces(): Map<string, number> {
        const m = new Map<string, number>();
        for (const [raw, idx] of this.nsByName) if (this.nsNames.get(idx) === raw) m.set(utf8(raw), idx);
        return m;
    }

    /** nvs_open: a missing namespace is ESP_ERR_NVS_NOT_FOUND when read-only (a read-write open would create it). */
    openNamespace(namespace: string, readOnly = true): NvsHandle {
        const idx = this.nsIndex(namespace);
        if (idx === undefined && (readOnly || this.options.readOnly !== false)) {
            throw new EspError("ESP_ERR_NVS_NOT_FOUND", `namespace '${namespace}' not found`, { file: this.options.file });
        }
        return new NvsHandle(this, namespace, readOnly);
    }

    private nsIndex(namespace: string): number | undefined {
        const raw = keyRawOf(namespace);
        const idx = this.nsByName.get(raw);
        return idx !== undefined && this.nsNames.get(idx) === raw ? idx : undefined;
    }

    private lookup(namespace: string, key: string): { nsIdx: number; items: LoadedItem[] } {
        const nsIdx = this.nsIndex(namespace);
        if (nsIdx === undefined) throw new EspError("ESP_ERR_NVS_NOT_FOUND", `namespace '${namespace}' not found`, { file: this.options.file });
        return { nsIdx, items: this.byKey.get(mapKey(nsIdx, keyRawOf(key))) ?? [] };
    }

    private notFound(namespace: string, key: string, why = "not found", offset?: number): EspError {
        return new EspError("ESP_ERR_NVS_NOT_FOUND", `${namespace}/${key}: ${why}`, { file: this.options.file, offset });
    }

    /** The first item (device order) of (ns, key) other than blob_data: what decides the key's type. */
    private primary(namespace: string, key: string): LoadedItem {
        const { items } = this.lookup(namespace, key);
        const p = first(items.filter(i => i.item.type !== ItemType.BLOB_DATA));
        if (!p) throw this.notFound(namespace, key);
        return p;
    }

    getInt(namespace: string, key: string, type: IntTypeName): bigint {
        const p = this.primary(namespace, key);
        if (p.item.type !== INT_TYPES[type].code) throw this.mismatch(namespace, key, p, type);
        return decodeIntData(type, p.item.data);
    }

    getU8(ns: string, key: string): number { return Number(this.getInt(ns, key, "u8")); }
    getI8(ns: string, key: string): number { return Number(this.getInt(ns, key, "i8")); }
    getU16(ns: string, key: string): number { return Number(this.getInt(ns, key, "u16")); }
    getI16(ns: string, key: string): number { return Number(this.getInt(ns, key, "i16")); }
    getU32(ns: string, key: string): number { return Number(this.getInt(ns, key, "u32")); }
    getI32(ns: string, key: string): number { return Number(this.getInt(ns, key, "i32")); }
    getU64(ns: string, key: string): bigint { return this.getInt(ns, key, "u64"); }
    getI64(ns: string, key: string): bigint { return this.getInt(ns, key, "i64"); }

    /** nvs_get_str's bytes, including the trailing NUL. */
    getStrBytes(namespace: string, key: string): Uint8Array {
        const p = this.primary(namespace, key);
        if (p.item.type !== ItemType.SZ) throw this.mismatch(namespace, key, p, "string");
        const data = this.payload(p);
        if (!data) throw this.notFound(namespace, key, "string payload CRC mismatch or bad size", p.offset);
        return data;
    }

    /** nvs_get_str as a JS string (without the trailing NUL). */
    getStr(namespace: string, key: string): string {
        const b = this.getStrBytes(namespace, key);
        return new TextDecoder().decode(b.length > 0 && b[b.length - 1] === 0 ? b.subarray(0, -1) : b);
    }

    /** nvs_get_blob: the multi-page blob (blob_index + blob_data chunks) first, then a v1 blob. */
    getBlob(namespace: string, key: string): Uint8Array {
        const { nsIdx, items } = this.lookup(namespace, key);
        const p = first(items.filter(i => i.item.type !== ItemType.BLOB_DATA));
        if (!p) throw this.notFound(namespace, key);
        if (p.item.type !== ItemType.BLOB_IDX && p.item.type !== ItemType.BLOB) throw this.mismatch(namespace, key, p, "blob");
        const index = first(items.filter(i => i.item.type === ItemType.BLOB_IDX));
        if (index) {
            const data = this.multiPage(nsIdx, index, items);
            if (data) return data;
        }
        const v1 = first(items.filter(i => i.item.type === ItemType.BLOB));
        if (v1) {
            const data = this.payload(v1);
            if (data) return data;
        }
        throw this.notFound(namespace, key, "blob chunks missing or payload CRC mismatch", (index ?? v1 ?? p).offset);
    }

    private multiPage(_nsIdx: number, index: LoadedItem, items: LoadedItem[]): Uint8Array | undefined {
        const dv = new DataView(index.item.data.buffer, index.item.data.byteOffset, 8);
        const size = dv.getUint32(0, true);
        const count = index.item.data[4]!;
        const start = index.item.data[5]!;
        const parts: Uint8Array[] = [];
        let total = 0;
        for (let c = start; c < start + count; c++) {
            const chunk = first(items.filter(i => i.item.type === ItemType.BLOB_DATA && i.item.chunkIndex === c));
            if (!chunk) return undefined;
            const data = this.payload(chunk);
            if (!data) return undefined;
            parts.push(data);
            total += data.length;
            if (total > size) return undefined;
        }
        if (total !== size) return undefined;
        return concatBytes(...parts);
    }

    /** Payload of a string / v1 blob / blob_data item, or undefined when its size or CRC is wrong. */
    private payload(li: LoadedItem): Uint8Array | undefined {
        const dv = new DataView(li.item.data.buffer, li.item.data.byteOffset, 8);
        const size = dv.getUint16(0, true);
        const crc = dv.getUint32(4, true);
        const entries = li.item.span - 1;
        if (size > entries * ENTRY_SIZE || Math.ceil(size / ENTRY_SIZE) !== entries) return undefined;
        const buf = new Uint8Array(entries * ENTRY_SIZE);
        for (let j = 0; j < entries; j++) buf.set(this.entry(li.offset + (j + 1) * ENTRY_SIZE), j * ENTRY_SIZE);
        const data = buf.slice(0, size);
        return espCrc32(data) === crc ? data : undefined;
    }

    private mismatch(namespace: string, key: string, p: LoadedItem, wanted: string): EspError {
        return new EspError(
            "ESP_ERR_NVS_TYPE_MISMATCH",
            `${namespace}/${key} is stored as ${typeName(p.item.type)}, read as ${wanted}`,
            { file: this.options.file, offset: p.offset },
        );
    }

    /**
     * Every readable key-value pair, the item the device finds for each (namespace, key) winning, in the order the winning
     * items appear (by page sequence, then entry). Items the device could not read go to `problems`.
     */
    entries(problems?: NvsProblem[]): NvsEntryView[] {
        const winners: Array<{ li: LoadedItem; nsIdx: number }> = [];
        for (const list of this.byKey.values()) {
            const p = first(list.filter(i => i.item.type !== ItemType.BLOB_DATA));
            if (p) winners.push({ li: p, nsIdx: p.item.nsIndex });
        }
        winners.sort((a, b) => a.li.order - b.li.order);
        const out: NvsEntryView[] = [];
        for (const { li, nsIdx } of winners) {
            const nsRaw = this.nsNames.get(nsIdx);
            const key = utf8(li.item.keyRaw);
            if (nsRaw === undefined || this.nsByName.get(nsRaw) !== nsIdx) {
                problems?.push({ key, code: "ESP_ERR_NVS_NOT_FOUND", message: `item in namespace index ${nsIdx}, which has no namespace entry`, offset: li.offset });
                continue;
            }
            const namespace = utf8(nsRaw);
            const int = intTypeByCode(li.item.type);
            try {
                if (int) {
                    const v = decodeIntData(int, li.item.data);
                    out.push({ namespace, key, type: int, value: int === "u64" || int === "i64" ? v : Number(v) });
                } else if (li.item.type === ItemType.SZ) {
                    out.push({ namespace, key, type: "string", value: this.getStr(namespace, key) });
                } else if (li.item.type === ItemType.BLOB_IDX || li.item.type === ItemType.BLOB) {
                    out.push({ namespace, key, type: "blob", value: this.getBlob(namespace, key) });
                } else {
                    problems?.push({ namespace, key, code: "ESP_ERR_NVS_TYPE_MISMATCH", message: `unknown item type 0x${li.item.type.toString(16)}`, offset: li.offset });
                }
            } catch (e) {
                if (!(e instanceof EspError)) throw e;
                problems?.push({ namespace, key, code: e.code, message: e.message, offset: li.offset });
            }
        }
        return out;
    }
}

/** An nvs_open() handle: reads bound to one namespace. */
export class NvsHandle {
    constructor(
        private readonly storage: NvsStorage,
        readonly namespace: string,
        readonly readOnly: boolean,
    ) {}

    getU8(key: string): number { return this.storage.getU8(this.namespace, key); }
    getI8(key: string): number { return this.storage.getI8(this.namespace, key); }
    getU16(key: string): number { return this.storage.getU16(this.namespace, key); }
    getI16(key: string): number { return this.storage.getI16(this.namespace, key); }
    getU32(key: string): number { return this.storage.getU32(this.namespace, key); }
    getI32(key: string): number { return this.storage.getI32(this.namespace, key); }
    getU64(key: string): bigint { return this.storage.getU64(this.namespace, key); }
    getI64(key: string): bigint { return this.storage.getI64(this.namespace, key); }
    getStr(key: string): string { return this.storage.getStr(this.namespace, key); }
    getStrBytes(key: string): Uint8Array { return this.storage.getStrBytes(this.namespace, key); }
    getBlob(key: string): Uint8Array { return this.storage.getBlob(this.namespace, key); }
}

/**
 * How a partition reads without keys: the entries its page bitmaps mark written (a readable item's data entries
 * counted with it), and how many items have a CRC that holds in plaintext. See looksNvsEncrypted.
 */
export function plaintextItemStats(image: Uint8Array): { written: number; items: number } {
    let written = 0;
    let items = 0;
    for (let base = 0; base + PAGE_SIZE <= image.length; base += PAGE_SIZE) {
        const h = decodePageHeader(image.subarray(base, base + 32));
        if (!h.crcOk || (h.state !== PageState.ACTIVE && h.state !== PageState.FULL)) continue;
        const bitmap = image.subarray(base + BITMAP_OFFSET, base + BITMAP_OFFSET + 32);
        for (let i = 0; i < ENTRIES_PER_PAGE; ) {
            if (bitmapState(bitmap, i) !== EntryState.WRITTEN) {
                i++;
                continue;
            }
            written++;
            const off = base + FIRST_ENTRY_OFFSET + i * ENTRY_SIZE;
            const item = decodeItem(image.subarray(off, off + ENTRY_SIZE));
            if (item.crcOk && item.span >= 1) {
                items++;
                written += Math.min(item.span, ENTRIES_PER_PAGE - i) - 1;
                i += item.span;
            } else i++;
        }
    }
    return { written, items };
}

/**
 * Written entries and not one plaintext item: NVS encryption leaves headers and bitmaps plaintext and encrypts every
 * entry, so that is an encrypted partition read without its nvs_keys (a chance CRC match is 2^-32 per entry).
 */
export function looksNvsEncrypted(stats: { written: number; items: number }): boolean {
    return stats.written > 0 && stats.items === 0;
}

/** Mounts an NVS partition (read-only unless `readOnly: false`). */
export function mountNvs(source: FlashSource | Uint8Array, options: MountOptions = {}): NvsStorage {
    return NvsStorage.mount(source, options);
}

function mapKey(nsIdx: number, keyRaw: string): string {
    return `${nsIdx}\u0000${keyRaw}`;
}

/** The item Storage::findItem returns: the first in page-sequence order. */
function first(items: LoadedItem[]): LoadedItem | undefined {
    let best: LoadedItem | undefined;
    for (const i of items) if (!best || i.order < best.order) best = i;
    return best;
}

function utf8(raw: string): string {
    return new TextDecoder().decode(latin1Bytes(raw));
}

function typeName(code: number): string {
    const int = intTypeByCode(code);
    if (int) return int;
    if (code === ItemType.SZ) return "string";
    if (code === ItemType.BLOB || code === ItemType.BLOB_IDX) return "blob";
    if (code === ItemType.BLOB_DATA) return "blob_data";
    return `type 0x${code.toString(16)}`;
}

