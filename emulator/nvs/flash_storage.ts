/**
 * NVS mounted read-write, as ESP-IDF nvs_flash does it (nvs_page.cpp, nvs_pagemanager.cpp, nvs_storage.cpp):
 * the same byte layout as the generator and the reader (format.ts, encryption.ts), with run-time writes over a
 * writable flash region ({ size, read, write, erase }).
 *
 * Write order (what a power loss can interrupt, one flash operation at a time):
 * - an item: its 32-byte header entry, then its bitmap word (11 → 10); a string/blob chunk then writes its full
 *   data entries in one program and their bitmap words (last word first), then the tail entry and its word;
 * - set of an existing key: the new item is appended to the active page first, the old item is erased after
 *   (bitmap 10 → 00), so a torn write leaves the old or the new value; a blob is written as version-toggled
 *   chunks (chunk start 0 / 128) + blob_index, then the old index, then the old chunks, are erased;
 * - page full: state word → FULL, the next free page takes seq + 1 (its header is written with the first item);
 *   with one free page left the page with the most unused entries is marked FREEING, its live entries copied to
 *   a fresh page, then erased (garbage collection, one free page always kept in reserve).
 * Mount-time repair (read-write only, like PageManager::load / Page::mLoadEntryTable / Storage::init): entries
 * written but not marked in the bitmap are marked erased, items with a bad CRC or a partly written span are
 * erased, an earlier duplicate on the active page is erased, the duplicate of the last item written is erased,
 * a FREEING page finishes its move, blob_data chunks without their blob_index are erased.
 *
 * Lookups follow Storage::findItem: pages in sequence order, the first page holding the key wins.
 */
import { EspError } from "../esp_common/err.js";
import { espCrc32 } from "../esp_rom/crc.js";
import { decryptEntry, encryptEntry, type NvsKeys } from "./encryption.js";
import {
    BITMAP_OFFSET,
    CHUNK_ANY,
    CHUNK_MAX_SIZE,
    ENTRIES_PER_PAGE,
    ENTRY_SIZE,
    EntryState,
    FIRST_ENTRY_OFFSET,
    INT_TYPES,
    ItemType,
    MAX_KEY_LENGTH,
    NVS_VERSION_2,
    PAGE_SIZE,
    PageState,
    bitmapState,
    decodeIntData,
    decodeItem,
    decodePageHeader,
    encodeIntData,
    encodeItem,
    encodePageHeader,
    isVariableLength,
    keyRawOf,
    latin1Bytes,
    setBitmapState,
    type IntTypeName,
    type Item,
} from "./format.js";

/** A writable partition (spi_flash FlashRegion / memoryFlash). */
export interface WritableFlash {
    readonly size: number;
    read(offset: number, length: number): Uint8Array;
    write(offset: number, data: Uint8Array): void;
    erase(offset: number, length: number): void;
}

export interface FlashMountOptions {
    keys?: NvsKeys;
    /** A read-only mount never writes (no repair, no set/erase). Default false. */
    readOnly?: boolean;
    file?: string;
}

type State = "UNINITIALIZED" | "ACTIVE" | "FULL" | "FREEING" | "CORRUPT" | "INVALID";

const NS_INDEX = 0;
const NS_ANY = 0xff;
const TYPE_ANY = 0xff;
const VER_0 = 0x00;
const VER_1 = 0x80;
const VER_ANY = 0xff;

function hashKey(ns: number, keyRaw: string, chunk: number): string {
    return `${ns}\u0000${chunk}\u0000${keyRaw}`;
}

class Page {
    state: State = "UNINITIALIZED";
    seq = 0;
    version = NVS_VERSION_2;
    readonly table = new Uint8Array(32).fill(0xff);
    nextFree = ENTRIES_PER_PAGE;
    firstUsed = ENTRIES_PER_PAGE;
    used = 0;
    erased = 0;
    /** Decoded, CRC-valid item headers by entry index (the device's hash list). */
    readonly items = new Map<number, Item>();

    constructor(
        readonly fs: NvsFlash,
        readonly index: number,
    ) {}

    get base(): number {
        return this.index * PAGE_SIZE;
    }

    entryAddress(i: number): number {
        return this.base + FIRST_ENTRY_OFFSET + i * ENTRY_SIZE;
    }

    get(i: number): number {
        return bitmapState(this.table, i);
    }

    load(): void {
        const fs = this.fs;
        const h = decodePageHeader(fs.flash.read(this.base, 32));
        if (h.state === PageState.UNINITIALIZED) {
            this.state = fs.flash.read(this.base, PAGE_SIZE).every(b => b === 0xff) ? "UNINITIALIZED" : "CORRUPT";
        } else if (!h.crcOk) {
            this.state = "CORRUPT";
        } else {
            if (h.version < NVS_VERSION_2) {
                throw new EspError("ESP_ERR_NVS_NEW_VERSION_FOUND", `page ${this.index} has format version 0x${h.version.toString(16)}, newer than this NVS (0xfe)`, {
                    file: fs.file,
                    offset: this.base + 8,
                });
            }
            this.seq = h.seq;
            this.version = h.version;
            this.state = h.state === PageState.ACTIVE ? "ACTIVE" : h.state === PageState.FULL ? "FULL" : h.state === PageState.FREEING ? "FREEING" : "CORRUPT";
        }
        if (this.state === "ACTIVE" || this.state === "FULL" || this.state === "FREEING") this.loadEntryTable();
    }

    private loadEntryTable(): void {
        const fs = this.fs;
        this.table.set(fs.flash.read(this.base + BITMAP_OFFSET, 32));
        this.used = 0;
        this.erased = 0;
        this.firstUsed = ENTRIES_PER_PAGE;
        for (let i = 0; i < ENTRIES_PER_PAGE; i++) {
            const s = this.get(i);
            if (s === EntryState.WRITTEN) {
                if (this.firstUsed === ENTRIES_PER_PAGE) this.firstUsed = i;
                this.used++;
            } else if (s === EntryState.ERASED) this.erased++;
        }
        if (this.state === "ACTIVE") {
            this.nextFree = ENTRIES_PER_PAGE;
            for (let i = 0; i < ENTRIES_PER_PAGE; i++) {
                if (this.get(i) === EntryState.EMPTY) {
                    this.nextFree = i;
                    break;
                }
            }
            // power lost after an entry was programmed but before its bitmap word: erase it
            while (this.nextFree < ENTRIES_PER_PAGE) {
                const head = fs.flash.read(this.entryAddress(this.nextFree), 4);
                if (head.every(b => b === 0xff)) break;
                const old = this.get(this.nextFree);
                this.alterEntryState(this.nextFree, EntryState.ERASED);
                if (old === EntryState.WRITTEN) this.used--;
                this.erased++;
                this.nextFree++;
            }
            const end = this.nextFree;
            let span = 1;
            for (let i = 0; i < end; i += span) {
                span = 1;
                if (this.get(i) === EntryState.ERASED || this.get(i) === EntryState.EMPTY) continue;
                const item = decodeItem(fs.readEntry(this.entryAddress(i)));
                if (!item.crcOk) {
                    this.eraseEntryAndSpan(i);
                    continue;
                }
                this.items.set(i, item);
                const dup = this.firstIndexOfHash(hashKey(item.nsIndex, item.keyRaw, item.chunkIndex), 0);
                if (isVariableLength(item.type)) {
                    span = item.span;
                    if (!this.spanWritten(i, item.span, 0)) {
                        span = Math.max(1, Math.min(item.span, ENTRIES_PER_PAGE - i));
                        this.eraseEntryAndSpan(i);
                        continue;
                    }
                } else if (item.span !== 1) {
                    this.eraseEntryAndSpan(i);
                    continue;
                }
                if (dup < i) this.eraseEntryAndSpan(dup);
            }
        } else {
            this.nextFree = ENTRIES_PER_PAGE;
            for (let i = this.firstUsed; i < ENTRIES_PER_PAGE; i++) {
                if (this.get(i) !== EntryState.WRITTEN) continue;
                const item = decodeItem(fs.readEntry(this.entryAddress(i)));
                if (!item.crcOk) {
                    this.eraseEntryAndSpan(i);
                    continue;
                }
                this.items.set(i, item);
                if (isVariableLength(item.type) && !this.spanWritten(i, item.span, 1)) {
                    this.eraseEntryAndSpan(i);
                    continue;
                }
                if (!isVariableLength(item.type) && item.span !== 1) {
                    this.eraseEntryAndSpan(i);
                    continue;
                }
                i += item.span - 1;
            }
        }
    }

    private spanWritten(i: number, span: number, from: number): boolean {
        if (span === 0 || span > ENTRIES_PER_PAGE - i) return false;
        for (let j = i + from; j < i + span; j++) if (this.get(j) !== EntryState.WRITTEN) return false;
        return true;
    }

    private firstIndexOfHash(h: string, start: number): number {
        let best = ENTRIES_PER_PAGE;
        for (const [i, it] of this.items) if (i >= start && i < best && hashKey(it.nsIndex, it.keyRaw, it.chunkIndex) === h) best = i;
        return best;
    }

    /** Writes a bitmap word (RAM copy first, flash when writable). */
    alterEntryState(i: number, state: number): void {
        setBitmapState(this.table, i, state);
        const w = i >> 4;
        this.fs.writeRaw(this.base + BITMAP_OFFSET + w * 4, this.table.slice(w * 4, w * 4 + 4));
    }

    /** Range [begin, end): words written from the last one down, like alterEntryRangeState. */
    alterEntryRangeState(begin: number, end: number, state: number): void {
        let word = (end - 1) >> 4;
        for (let i = end - 1; i >= begin; i--) {
            setBitmapState(this.table, i, state);
            const next = i === begin ? -1 : (i - 1) >> 4;
            if (next !== word) this.fs.writeRaw(this.base + BITMAP_OFFSET + word * 4, this.table.slice(word * 4, word * 4 + 4));
            word = next;
        }
    }

    eraseEntryAndSpan(index: number): void {
        const state = this.get(index);
        let span = 1;
        if (state === EntryState.WRITTEN) {
            const item = this.items.get(index) ?? decodeItem(this.fs.readEntry(this.entryAddress(index)));
            this.items.delete(index);
            if (!item.crcOk) {
                this.alterEntryState(index, EntryState.ERASED);
                this.used--;
                this.erased++;
            } else {
                span = Math.max(1, Math.min(item.span, ENTRIES_PER_PAGE - index));
                for (let i = index + span - 1; i >= index; i--) {
                    if (this.get(i) === EntryState.WRITTEN) this.used--;
                    this.erased++;
                }
                if (span === 1) this.alterEntryState(index, EntryState.ERASED);
                else this.alterEntryRangeState(index, index + span, EntryState.ERASED);
            }
        } else {
            this.alterEntryState(index, EntryState.ERASED);
        }
        if (index === this.firstUsed) {
            this.firstUsed = ENTRIES_PER_PAGE;
            for (let i = index + span; i < Math.min(this.nextFree, ENTRIES_PER_PAGE); i++) {
                if (this.get(i) === EntryState.WRITTEN) {
                    this.firstUsed = i;
                    break;
                }
            }
        }
        if (this.state === "ACTIVE" && index + span > this.nextFree) this.nextFree = index + span;
    }

    initialize(): void {
        this.state = "ACTIVE";
        this.fs.writeRaw(this.base, encodePageHeader(PageState.ACTIVE, this.seq, this.version));
        this.nextFree = 0;
        this.table.fill(0xff);
    }

    private writeEntry(entry: Uint8Array): void {
        this.fs.writeEntries(this.entryAddress(this.nextFree), entry);
        this.alterEntryState(this.nextFree, EntryState.WRITTEN);
        if (this.firstUsed === ENTRIES_PER_PAGE) this.firstUsed = this.nextFree;
        this.used++;
        this.nextFree++;
    }

    private writeEntryData(data: Uint8Array): void {
        const count = data.length / ENTRY_SIZE;
        this.fs.writeEntries(this.entryAddress(this.nextFree), data);
        this.alterEntryRangeState(this.nextFree, this.nextFree + count, EntryState.WRITTEN);
        this.used += count;
        this.nextFree += count;
    }

    /** Page::writeItem: returns false when the page cannot hold it (ESP_ERR_NVS_PAGE_FULL). */
    writeItem(ns: number, type: number, keyRaw: string, data: Uint8Array, chunkIdx = CHUNK_ANY): boolean {
        if (this.state === "UNINITIALIZED") this.initialize();
        if (this.state === "FULL") return false;
        if (keyRaw.length > MAX_KEY_LENGTH) throw new EspError("ESP_ERR_NVS_KEY_TOO_LONG", `key of ${keyRaw.length} bytes (max 15)`, { file: this.fs.file });
        if (data.length > CHUNK_MAX_SIZE && isVariableLength(type)) {
            throw new EspError("ESP_ERR_NVS_VALUE_TOO_LONG", `${data.length} bytes exceed ${CHUNK_MAX_SIZE}`, { file: this.fs.file });
        }
        const dataEntries = isVariableLength(type) ? Math.ceil(data.length / ENTRY_SIZE) : 0;
        const count = 1 + dataEntries;
        if (this.nextFree + count > ENTRIES_PER_PAGE) return false;
        let field: Uint8Array;
        if (isVariableLength(type)) {
            field = new Uint8Array(8).fill(0xff);
            const dv = new DataView(field.buffer);
            dv.setUint16(0, data.length, true);
            dv.setUint32(4, espCrc32(data), true);
        } else {
            field = new Uint8Array(8).fill(0xff);
            field.set(data.subarray(0, 8));
        }
        const header = encodeItem({ nsIndex: ns, type, span: count, chunkIndex: chunkIdx, key: latin1Bytes(keyRaw), data: field });
        const at = this.nextFree;
        this.items.set(at, decodeItem(header));
        this.writeEntry(header);
        if (dataEntries > 0) {
            const full = Math.floor(data.length / ENTRY_SIZE) * ENTRY_SIZE;
            if (full > 0) this.writeEntryData(data.subarray(0, full));
            if (full < data.length) {
                const tail = new Uint8Array(ENTRY_SIZE).fill(0xff);
                tail.set(data.subarray(full));
                this.writeEntry(tail);
            }
        }
        return true;
    }

    /** Page::findItem. `start` is an entry index; returns the index or an error code. */
    findItem(ns: number, type: number, keyRaw: string | undefined, start = 0, chunkIdx = CHUNK_ANY, chunkStart = VER_ANY): { index: number; item: Item } | "NOT_FOUND" | { mismatch: number; item: Item } {
        if (this.state === "CORRUPT" || this.state === "INVALID" || this.state === "UNINITIALIZED") return "NOT_FOUND";
        if (start >= ENTRIES_PER_PAGE) return "NOT_FOUND";
        let from = this.firstUsed;
        if (start > this.firstUsed) from = start;
        const end = Math.min(this.nextFree, ENTRIES_PER_PAGE);
        if (ns !== NS_ANY && type !== TYPE_ANY && keyRaw !== undefined) {
            const cached = this.firstIndexOfHash(hashKey(ns, keyRaw, chunkIdx), from);
            if (cached >= ENTRIES_PER_PAGE) return "NOT_FOUND";
            from = cached;
        }
        let next: number;
        for (let i = from; i < end; i = next) {
            next = i + 1;
            if (this.get(i) !== EntryState.WRITTEN) continue;
            let item = this.items.get(i);
            if (!item) {
                item = decodeItem(this.fs.readEntry(this.entryAddress(i)));
                if (!item.crcOk) {
                    this.eraseEntryAndSpan(i);
                    continue;
                }
                this.items.set(i, item);
            }
            if (isVariableLength(item.type)) next = i + Math.max(1, item.span);
            if (ns !== NS_ANY && item.nsIndex !== ns) continue;
            if (keyRaw !== undefined && item.keyRaw !== keyRaw) continue;
            if (chunkIdx !== CHUNK_ANY && type === ItemType.BLOB_DATA && item.chunkIndex !== chunkIdx) continue;
            if (type === ItemType.BLOB_IDX && item.chunkIndex !== CHUNK_ANY) continue;
            if (type === ItemType.BLOB_IDX && chunkStart !== VER_ANY && item.data[5] !== chunkStart) continue;
            if (type !== TYPE_ANY && item.type !== type) {
                if (keyRaw === undefined && ns === NS_ANY && chunkIdx === CHUNK_ANY) continue;
                return { mismatch: i, item };
            }
            return { index: i, item };
        }
        return "NOT_FOUND";
    }

    /** The payload of a variable-length item (undefined on a size/CRC mismatch). */
    readPayload(index: number, item: Item): Uint8Array | undefined {
        const dv = new DataView(item.data.buffer, item.data.byteOffset, 8);
        const size = dv.getUint16(0, true);
        const entries = item.span - 1;
        if (size > entries * ENTRY_SIZE) return undefined;
        const out = new Uint8Array(entries * ENTRY_SIZE);
        for (let j = 0; j < entries; j++) out.set(this.fs.readEntry(this.entryAddress(index + 1 + j)), j * ENTRY_SIZE);
        const data = out.slice(0, size);
        return espCrc32(data) === dv.getUint32(4, true) ? data : undefined;
    }

    /** Page::copyItems: every written entry, header and data alike, goes to `other` one entry at a time. */
    copyItems(other: Page): void {
        if (this.firstUsed === ENTRIES_PER_PAGE) return;
        if (other.state === "UNINITIALIZED") other.initialize();
        let i = this.firstUsed;
        while (i < ENTRIES_PER_PAGE) {
            if (this.get(i) !== EntryState.WRITTEN) {
                i++;
                continue;
            }
            const raw = this.fs.readEntry(this.entryAddress(i));
            const item = decodeItem(raw);
            const span = Math.max(1, Math.min(item.span, ENTRIES_PER_PAGE - i));
            if (item.crcOk) other.items.set(other.nextFree, item);
            other.writeEntry(raw);
            for (let j = i + 1; j < i + span; j++) other.writeEntry(this.fs.readEntry(this.entryAddress(j)));
            i += span;
        }
    }

    erase(): void {
        this.fs.eraseRaw(this.base);
        this.used = 0;
        this.erased = 0;
        this.firstUsed = ENTRIES_PER_PAGE;
        this.nextFree = ENTRIES_PER_PAGE;
        this.state = "UNINITIALIZED";
        this.table.fill(0xff);
        this.items.clear();
    }

    alterPageState(state: number, name: State): void {
        const w = new Uint8Array(4);
        new DataView(w.buffer).setUint32(0, state >>> 0, true);
        this.fs.writeRaw(this.base, w);
        this.state = name;
    }

    tailroom(): number {
        if (this.state === "UNINITIALIZED") return CHUNK_MAX_SIZE;
        if (this.state === "FULL") return 0;
        return this.nextFree < ENTRIES_PER_PAGE - 1 ? (ENTRIES_PER_PAGE - this.nextFree - 1) * ENTRY_SIZE : 0;
    }
}

export type NvsValueType = IntTypeName | "string" | "blob";

/** Counters for a test or a report (what nvs_get_stats gives, plus the flash operations issued). */
export interface NvsFlashStats {
    usedEntries: number;
    freeEntries: number;
    totalEntries: number;
    namespaceCount: number;
    pagesInUse: number;
    freePages: number;
}

/**
 * A mounted NVS partition with the device's read and write rules. `mountNvsFlash(flash, options)` mounts it;
 * `open(namespace, "readwrite")` is nvs_open.
 */
export class NvsFlash {
    readonly file?: string;
    readonly readOnly: boolean;
    private readonly keys?: NvsKeys;
    private readonly pages: Page[] = [];
    /** Pages in use, in sequence order (the device's mPageList). */
    private pageList: Page[] = [];
    private freeList: Page[] = [];
    private seq = 0;
    private readonly namespaces: Array<{ name: string; index: number }> = [];
    private readonly nsUsed = new Set<number>([0, 255]);

    private constructor(
        readonly flash: WritableFlash,
        options: FlashMountOptions,
    ) {
        this.file = options.file;
        this.readOnly = options.readOnly ?? false;
        this.keys = options.keys;
        const size = flash.size;
        if (!Number.isSafeInteger(size) || size < PAGE_SIZE || size % PAGE_SIZE !== 0) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `NVS partition size ${size} is not a positive multiple of 4096`, { file: this.file });
        }
        this.load(size / PAGE_SIZE);
    }

    static mount(flash: WritableFlash, options: FlashMountOptions = {}): NvsFlash {
        return new NvsFlash(flash, options);
    }

    // ------------------------------------------------------------------------------------------ flash I/O

    readEntry(offset: number): Uint8Array {
        const raw = this.flash.read(offset, ENTRY_SIZE);
        return this.keys ? decryptEntry(this.keys, offset, raw) : raw;
    }

    /** Entries (a multiple of 32 bytes) in one program operation, each XTS-encrypted with its own tweak. */
    writeEntries(offset: number, data: Uint8Array): void {
        if (this.readOnly) return;
        let out = data;
        if (this.keys) {
            out = new Uint8Array(data.length);
            for (let o = 0; o < data.length; o += ENTRY_SIZE) out.set(encryptEntry(this.keys, offset + o, data.subarray(o, o + ENTRY_SIZE)), o);
        }
        this.flash.write(offset, out);
    }

    writeRaw(offset: number, data: Uint8Array): void {
        if (!this.readOnly) this.flash.write(offset, data);
    }

    eraseRaw(offset: number): void {
        if (!this.readOnly) this.flash.erase(offset, PAGE_SIZE);
    }

    // ------------------------------------------------------------------------------------------ page manager

    private load(count: number): void {
        for (let i = 0; i < count; i++) {
            const p = new Page(this, i);
            p.load();
            this.pages.push(p);
            if (p.state === "ACTIVE" || p.state === "FULL" || p.state === "FREEING") {
                const pos = this.pageList.findIndex(q => q.seq > p.seq);
                if (pos < 0) this.pageList.push(p);
                else this.pageList.splice(pos, 0, p);
            } else {
                this.freeList.push(p);
            }
        }
        if (this.pageList.length === 0) {
            this.seq = 0;
            this.activatePage();
        } else {
            this.seq = this.pageList[this.pageList.length - 1]!.seq + 1;
        }
        if (!this.readOnly) {
            this.eraseDuplicateOfLastItem();
            const freeing = this.pageList.find(p => p.state === "FREEING");
            if (freeing) {
                let newPage = this.back();
                if (newPage.state === "ACTIVE") {
                    newPage.erase();
                    this.pageList.splice(this.pageList.indexOf(newPage), 1);
                    this.freeList.push(newPage);
                }
                this.activatePage();
                newPage = this.back();
                freeing.copyItems(newPage);
                freeing.erase();
                this.pageList.splice(this.pageList.indexOf(freeing), 1);
                this.freeList.push(freeing);
            }
            if (this.freeList.length === 0) {
                throw new EspError("ESP_ERR_NVS_NO_FREE_PAGES", "no free page: a read-write NVS needs one (erase the partition, or mount it read-only)", { file: this.file });
            }
        }
        // Storage::init: namespaces, then orphan blob_data
        for (const p of this.pageList) {
            let idx = 0;
            for (;;) {
                const r = p.findItem(NS_INDEX, ItemType.U8, undefined, idx);
                if (r === "NOT_FOUND" || "mismatch" in r) break;
                this.namespaces.push({ name: r.item.keyRaw, index: r.item.data[0]! });
                this.nsUsed.add(r.item.data[0]!);
                idx = r.index + r.item.span;
            }
        }
        const indices: Array<{ ns: number; key: string; start: number; count: number }> = [];
        for (const p of this.pageList) {
            for (const [, it] of [...p.items].sort((a, b) => a[0] - b[0])) {
                if (it.type === ItemType.BLOB_IDX && it.chunkIndex === CHUNK_ANY) indices.push({ ns: it.nsIndex, key: it.keyRaw, start: it.data[5]!, count: it.data[4]! });
            }
        }
        for (const p of this.pageList) {
            for (const [i, it] of [...p.items].sort((a, b) => a[0] - b[0])) {
                if (it.type !== ItemType.BLOB_DATA || p.get(i) !== EntryState.WRITTEN) continue;
                const owner = indices.some(e => e.ns === it.nsIndex && e.key === it.keyRaw && it.chunkIndex >= e.start && it.chunkIndex < e.start + e.count);
                if (!owner) p.eraseEntryAndSpan(i);
            }
        }
    }

    /** PageManager::load: power lost after the new item was written, before the old one was erased. */
    private eraseDuplicateOfLastItem(): void {
        const last = this.back();
        let item: Item | undefined;
        let idx = 0;
        for (;;) {
            const r = last.findItem(NS_ANY, TYPE_ANY, undefined, idx);
            if (r === "NOT_FOUND" || "mismatch" in r) break;
            item = r.item;
            idx = r.index + r.item.span;
        }
        if (!item) return;
        const tryErase = (type: number): boolean => {
            for (const p of this.pageList) {
                if (p === last) break;
                if (p.state === "FREEING") continue;
                const r = p.findItem(item!.nsIndex, type, item!.keyRaw, 0, item!.chunkIndex);
                if (r !== "NOT_FOUND" && !("mismatch" in r)) {
                    p.eraseEntryAndSpan(r.index);
                    return true;
                }
            }
            return false;
        };
        if (!tryErase(item.type) && item.type === ItemType.BLOB_IDX) tryErase(ItemType.BLOB);
    }

    private back(): Page {
        return this.pageList[this.pageList.length - 1]!;
    }

    private activatePage(): void {
        const p = this.freeList.shift();
        if (!p) throw new EspError("ESP_ERR_NVS_NOT_ENOUGH_SPACE", "no free page left", { file: this.file });
        if (p.state === "CORRUPT") p.erase();
        this.pageList.push(p);
        p.seq = this.seq++;
        p.version = NVS_VERSION_2;
    }

    /** PageManager::requestNewPage: a free page, reclaiming the page with the most unused entries when only one is left. */
    private requestNewPage(): void {
        if (this.freeList.length === 0) throw new EspError("ESP_ERR_NVS_INVALID_STATE", "no free page", { file: this.file });
        if (this.freeList.length >= 2) {
            this.activatePage();
            return;
        }
        let victim: Page | undefined;
        let maxUnused = 0;
        for (const p of this.pageList) {
            const unused = ENTRIES_PER_PAGE - p.used;
            if (unused > maxUnused) {
                victim = p;
                maxUnused = unused;
            }
        }
        if (!victim) throw new EspError("ESP_ERR_NVS_NOT_ENOUGH_SPACE", "NVS is full: every entry of every page is in use", { file: this.file });
        victim.alterPageState(PageState.FREEING, "FREEING");
        this.activatePage();
        const newPage = this.back();
        victim.copyItems(newPage);
        victim.erase();
        this.pageList.splice(this.pageList.indexOf(victim), 1);
        this.freeList.push(victim);
    }

    private markFull(p: Page): void {
        if (p.state === "ACTIVE") p.alterPageState(PageState.FULL, "FULL");
    }

    // ------------------------------------------------------------------------------------------ storage

    private findItem(ns: number, type: number, keyRaw: string, chunkIdx = CHUNK_ANY, chunkStart = VER_ANY): { page: Page; index: number; item: Item } | undefined {
        for (const p of this.pageList) {
            const r = p.findItem(ns, type, keyRaw, 0, chunkIdx, chunkStart);
            if (r !== "NOT_FOUND" && !("mismatch" in r)) return { page: p, index: r.index, item: r.item };
        }
        return undefined;
    }

    private writeOnCurrentPage(ns: number, type: number, keyRaw: string, data: Uint8Array, chunkIdx = CHUNK_ANY): void {
        const page = this.back();
        if (page.writeItem(ns, type, keyRaw, data, chunkIdx)) return;
        this.markFull(page);
        this.requestNewPage();
        if (!this.back().writeItem(ns, type, keyRaw, data, chunkIdx)) {
            throw new EspError("ESP_ERR_NVS_NOT_ENOUGH_SPACE", `no room for ${keyRaw} (${data.length} bytes)`, { file: this.file });
        }
    }

    private eraseOnPage(page: Page, ns: number, type: number, keyRaw: string | undefined, chunkIdx = CHUNK_ANY, chunkStart = VER_ANY): boolean {
        const r = page.findItem(ns, type, keyRaw, 0, chunkIdx, chunkStart);
        if (r === "NOT_FOUND" || "mismatch" in r) return false;
        page.eraseEntryAndSpan(r.index);
        return true;
    }

    private itemEquals(page: Page, index: number, item: Item, type: number, data: Uint8Array): boolean {
        if (item.type !== type) return false;
        if (!isVariableLength(type)) return data.every((b, i) => item.data[i] === b);
        const payload = page.readPayload(index, item);
        return payload !== undefined && payload.length === data.length && payload.every((b, i) => data[i] === b);
    }

    /** Storage::writeItem for everything but blobs. */
    private writeItem(ns: number, type: number, keyRaw: string, data: Uint8Array): void {
        this.checkWritable();
        let found: { page: Page; index: number; item: Item } | undefined;
        for (const p of this.pageList) {
            const r = p.findItem(ns, TYPE_ANY, keyRaw, 0);
            if (r !== "NOT_FOUND" && !("mismatch" in r)) {
                found = { page: p, ...r };
                break;
            }
        }
        if (found && found.item.type === type && this.itemEquals(found.page, found.index, found.item, type, data)) return;
        this.writeOnCurrentPage(ns, type, keyRaw, data);
        if (found) {
            let page = found.page;
            if (page.state === "UNINITIALIZED" || page.state === "INVALID") {
                const again = this.findAny(ns, keyRaw);
                if (!again) return;
                page = again;
            }
            this.eraseOnPage(page, ns, TYPE_ANY, keyRaw);
        }
    }

    private findAny(ns: number, keyRaw: string): Page | undefined {
        for (const p of this.pageList) {
            const r = p.findItem(ns, TYPE_ANY, keyRaw, 0);
            if (r !== "NOT_FOUND" && !("mismatch" in r)) return p;
        }
        return undefined;
    }

    private readMultiPageBlob(ns: number, keyRaw: string, repair = true): Uint8Array | "NOT_FOUND" {
        const idx = this.findItem(ns, ItemType.BLOB_IDX, keyRaw);
        if (!idx) return "NOT_FOUND";
        const size = new DataView(idx.item.data.buffer, idx.item.data.byteOffset, 8).getUint32(0, true);
        const count = idx.item.data[4]!;
        const start = idx.item.data[5]!;
        const out = new Uint8Array(size);
        let offset = 0;
        for (let c = 0; c < count; c++) {
            const chunk = this.findItem(ns, ItemType.BLOB_DATA, keyRaw, start + c);
            const data = chunk ? chunk.page.readPayload(chunk.index, chunk.item) : undefined;
            if (!chunk || !data || offset + data.length > size) {
                if (repair && chunk && !data && !this.readOnly) chunk.page.eraseEntryAndSpan(chunk.index);
                if (repair && !this.readOnly) this.eraseMultiPageBlob(ns, keyRaw);
                return "NOT_FOUND";
            }
            out.set(data, offset);
            offset += data.length;
        }
        return offset === size ? out : "NOT_FOUND";
    }

    private writeMultiPageBlob(ns: number, keyRaw: string, data: Uint8Array, chunkStart: number): void {
        const maxPages = Math.min(this.pages.length - 1, (CHUNK_ANY - 1) / 2);
        if (data.length > maxPages * CHUNK_MAX_SIZE) {
            throw new EspError("ESP_ERR_NVS_VALUE_TOO_LONG", `blob of ${data.length} bytes exceeds ${maxPages * CHUNK_MAX_SIZE} for this partition`, { file: this.file });
        }
        let chunkCount = 0;
        let remaining = data.length;
        let offset = 0;
        const used: Page[] = [];
        try {
            for (;;) {
                const page = this.back();
                const tailroom = page.tailroom();
                if (chunkCount === 0 && (tailroom < data.length || (tailroom === 0 && data.length === 0)) && tailroom < CHUNK_MAX_SIZE / 10) {
                    this.markFull(page);
                    this.requestNewPage();
                    if (this.back().tailroom() === tailroom) throw new EspError("ESP_ERR_NVS_NOT_ENOUGH_SPACE", `no room for blob ${keyRaw}`, { file: this.file });
                    continue;
                } else if (tailroom === 0) {
                    throw new EspError("ESP_ERR_NVS_NOT_ENOUGH_SPACE", `no room for blob ${keyRaw}`, { file: this.file });
                }
                const chunkSize = Math.min(remaining, tailroom);
                remaining -= chunkSize;
                page.writeItem(ns, ItemType.BLOB_DATA, keyRaw, data.subarray(offset, offset + chunkSize), chunkStart + chunkCount);
                chunkCount++;
                used.push(page);
                if (remaining > 0 || tailroom - chunkSize < ENTRY_SIZE) {
                    this.markFull(page);
                    this.requestNewPage();
                }
                offset += chunkSize;
                if (remaining === 0) {
                    const idx = new Uint8Array(8).fill(0xff);
                    new DataView(idx.buffer).setUint32(0, data.length, true);
                    idx[4] = chunkCount;
                    idx[5] = chunkStart;
                    if (!this.back().writeItem(ns, ItemType.BLOB_IDX, keyRaw, idx)) {
                        throw new EspError("ESP_ERR_NVS_NOT_ENOUGH_SPACE", `no room for the index of blob ${keyRaw}`, { file: this.file });
                    }
                    return;
                }
            }
        } catch (e) {
            if (e instanceof EspError) {
                // erase the chunks written so far (chunk numbers offset by the version: ESP-IDF passes the bare
                // counter here, leaving version-1 chunks to the orphan sweep of the next mount)
                used.forEach((p, i) => this.eraseOnPage(p, ns, ItemType.BLOB_DATA, keyRaw, chunkStart + i));
            }
            throw e;
        }
    }

    private eraseMultiPageBlob(ns: number, keyRaw: string, chunkStart = VER_ANY): boolean {
        const idx = this.findItem(ns, ItemType.BLOB_IDX, keyRaw, CHUNK_ANY, chunkStart);
        if (!idx) return false;
        idx.page.eraseEntryAndSpan(idx.index);
        const count = idx.item.data[4]!;
        const start = chunkStart === VER_ANY ? idx.item.data[5]! : chunkStart;
        for (let c = 0; c < count; c++) {
            const chunk = this.findItem(ns, ItemType.BLOB_DATA, keyRaw, start + c);
            if (chunk) chunk.page.eraseEntryAndSpan(chunk.index);
        }
        return true;
    }

    private checkWritable(): void {
        if (this.readOnly) throw new EspError("ESP_ERR_NVS_READ_ONLY", "the partition is mounted read-only", { file: this.file });
    }

    // ------------------------------------------------------------------------------------------ public API

    /** nvs_open: a read-write open creates the namespace (a namespace entry) on first use. */
    open(namespace: string, mode: "readonly" | "readwrite" = "readonly"): NvsFlashHandle {
        const raw = keyRawOf(namespace);
        if (raw.length > MAX_KEY_LENGTH) throw new EspError("ESP_ERR_NVS_KEY_TOO_LONG", `namespace '${namespace}' is longer than 15 bytes`, { file: this.file });
        if (raw.length === 0) throw new EspError("ESP_ERR_NVS_INVALID_NAME", "empty namespace name", { file: this.file });
        if (mode === "readwrite" && this.readOnly) throw new EspError("ESP_ERR_NOT_ALLOWED", "read-write open of a read-only NVS partition", { file: this.file });
        let ns = this.namespaces.find(n => n.name === raw)?.index;
        if (ns === undefined) {
            if (mode === "readonly") throw new EspError("ESP_ERR_NVS_NOT_FOUND", `namespace '${namespace}' not found`, { file: this.file });
            let free = 1;
            while (free < 255 && this.nsUsed.has(free)) free++;
            if (free === 255) throw new EspError("ESP_ERR_NVS_NOT_ENOUGH_SPACE", "all 254 namespace indexes are in use", { file: this.file });
            this.writeItem(NS_INDEX, ItemType.U8, raw, new Uint8Array([free]));
            this.nsUsed.add(free);
            this.namespaces.push({ name: raw, index: free });
            ns = free;
        }
        return new NvsFlashHandle(this, namespace, ns, mode === "readonly");
    }

    /** Namespace names → index. */
    namespaceMap(): Map<string, number> {
        const m = new Map<string, number>();
        for (const n of this.namespaces) if (!m.has(n.name)) m.set(new TextDecoder().decode(latin1Bytes(n.name)), n.index);
        return m;
    }

    /** @internal */ _set(ns: number, key: string, type: NvsValueType, value: number | bigint | string | Uint8Array): void {
        this.checkWritable();
        const raw = checkKey(key, this.file);
        if (type === "blob") {
            const data = value as Uint8Array;
            const found = this.findItem(ns, ItemType.BLOB_IDX, raw);
            let next = VER_0;
            let prev = VER_0;
            if (found) {
                const current = this.readMultiPageBlob(ns, raw, false);
                if (current !== "NOT_FOUND" && current.length === data.length && current.every((b, i) => b === data[i])) return;
                prev = found.item.data[5]!;
                next = prev === VER_1 ? VER_0 : VER_1;
            }
            this.writeMultiPageBlob(ns, raw, data, next);
            if (found) {
                this.eraseMultiPageBlob(ns, raw, prev);
            } else {
                const legacy = this.findItem(ns, ItemType.BLOB, raw);
                if (legacy) this.eraseOnPage(legacy.page, ns, TYPE_ANY, raw);
            }
            return;
        }
        if (type === "string") {
            const s = new TextEncoder().encode(value as string);
            const bytes = new Uint8Array(s.length + 1);
            bytes.set(s);
            if (bytes.length > CHUNK_MAX_SIZE) throw new EspError("ESP_ERR_NVS_VALUE_TOO_LONG", `string of ${bytes.length} bytes (with NUL) exceeds ${CHUNK_MAX_SIZE}`, { file: this.file });
            this.writeItem(ns, ItemType.SZ, raw, bytes);
            return;
        }
        const t = INT_TYPES[type];
        const v = BigInt(value as number | bigint);
        if (v < t.min || v > t.max) throw new EspError("ESP_ERR_INVALID_ARG", `${key}: ${v} is out of range for ${type}`, { file: this.file });
        this.writeItem(ns, t.code, raw, encodeIntData(type, v).subarray(0, t.bytes));
    }

    /** @internal */ _get(ns: number, key: string, type: NvsValueType): number | bigint | string | Uint8Array {
        const raw = checkKey(key, this.file);
        const notFound = () => new EspError("ESP_ERR_NVS_NOT_FOUND", `${key}: not found`, { file: this.file });
        if (type === "blob") {
            const blob = this.readMultiPageBlob(ns, raw);
            if (blob !== "NOT_FOUND") return blob;
        }
        const code = type === "blob" ? ItemType.BLOB : type === "string" ? ItemType.SZ : INT_TYPES[type].code;
        const found = this.findItem(ns, code, raw);
        if (!found) {
            const any = this.findAny(ns, raw);
            if (any) {
                const r = any.findItem(ns, TYPE_ANY, raw);
                if (r !== "NOT_FOUND" && !("mismatch" in r) && !(type === "blob" && (r.item.type === ItemType.BLOB_IDX || r.item.type === ItemType.BLOB_DATA))) {
                    throw new EspError("ESP_ERR_NVS_TYPE_MISMATCH", `${key} is stored as type 0x${r.item.type.toString(16)}, read as ${type}`, { file: this.file });
                }
            }
            throw notFound();
        }
        if (type !== "blob" && type !== "string") return decodeIntData(type, found.item.data);
        const payload = found.page.readPayload(found.index, found.item);
        if (!payload) {
            if (!this.readOnly) found.page.eraseEntryAndSpan(found.index);
            throw notFound();
        }
        if (type === "blob") return payload;
        return new TextDecoder().decode(payload.length > 0 && payload[payload.length - 1] === 0 ? payload.subarray(0, -1) : payload);
    }

    /** @internal nvs_erase_key */ _erase(ns: number, key: string): void {
        this.checkWritable();
        const raw = checkKey(key, this.file);
        const found = this.findAny(ns, raw);
        if (!found) throw new EspError("ESP_ERR_NVS_NOT_FOUND", `${key}: not found`, { file: this.file });
        const r = found.findItem(ns, TYPE_ANY, raw);
        if (r === "NOT_FOUND" || "mismatch" in r) throw new EspError("ESP_ERR_NVS_NOT_FOUND", `${key}: not found`, { file: this.file });
        if (r.item.type === ItemType.BLOB_DATA || r.item.type === ItemType.BLOB_IDX) {
            if (!this.eraseMultiPageBlob(ns, raw)) throw new EspError("ESP_ERR_NVS_NOT_FOUND", `${key}: not found`, { file: this.file });
            return;
        }
        found.eraseEntryAndSpan(r.index);
    }

    /** @internal nvs_erase_all: every item of the namespace (the namespace entry stays). */
    _eraseAll(ns: number): void {
        this.checkWritable();
        for (const p of this.pageList) while (this.eraseOnPage(p, ns, TYPE_ANY, undefined));
    }

    /** @internal nvs_entry_find: keys of a namespace (blob chunks and indexes reported once as "blob"). */
    _keys(ns: number): Array<{ key: string; type: NvsValueType }> {
        const out: Array<{ key: string; type: NvsValueType }> = [];
        const seen = new Set<string>();
        for (const p of this.pageList) {
            let idx = 0;
            for (;;) {
                const r = p.findItem(ns, TYPE_ANY, undefined, idx);
                if (r === "NOT_FOUND" || "mismatch" in r) break;
                idx = r.index + Math.max(1, r.item.span);
                const it = r.item;
                let type: NvsValueType | undefined;
                if (it.type === ItemType.BLOB_IDX || it.type === ItemType.BLOB) type = "blob";
                else if (it.type === ItemType.SZ) type = "string";
                else for (const [n, t] of Object.entries(INT_TYPES)) if (t.code === it.type) type = n as IntTypeName;
                if (!type || seen.has(it.keyRaw)) continue;
                seen.add(it.keyRaw);
                out.push({ key: new TextDecoder().decode(latin1Bytes(it.keyRaw)), type });
            }
        }
        return out;
    }

    /** nvs_get_stats. */
    stats(): NvsFlashStats {
        let used = 0;
        for (const p of this.pageList) used += p.used;
        const total = this.pages.length * ENTRIES_PER_PAGE;
        return {
            usedEntries: used,
            freeEntries: total - used,
            totalEntries: total,
            namespaceCount: this.namespaces.length,
            pagesInUse: this.pageList.length,
            freePages: this.freeList.length,
        };
    }

    /** Page states and sequence numbers (index order). */
    pageStates(): Array<{ index: number; state: string; seq: number; used: number; erased: number }> {
        return this.pages.map(p => ({ index: p.index, state: p.state, seq: p.seq, used: p.used, erased: p.erased }));
    }
}

function checkKey(key: string, file?: string): string {
    const raw = keyRawOf(key);
    if (raw.length > MAX_KEY_LENGTH) throw new EspError("ESP_ERR_NVS_KEY_TOO_LONG", `key '${key}' is ${raw.length} bytes; NVS keys are at most 15`, { file });
    if (raw.length === 0 || raw.includes("\u0000")) throw new EspError("ESP_ERR_NVS_INVALID_NAME", `invalid key ${JSON.stringify(key)}`, { file });
    return raw;
}

/** An nvs_open() handle. Writes go to flash at once (nvs_commit is a no-op in nvs_flash, kept for the API). */
export class NvsFlashHandle {
    constructor(
        private readonly fs: NvsFlash,
        readonly namespace: string,
        readonly nsIndex: number,
        readonly readOnly: boolean,
    ) {}

    private w(): NvsFlash {
        if (this.readOnly) throw new EspError("ESP_ERR_NVS_READ_ONLY", `namespace '${this.namespace}' was opened read-only`, { file: this.fs.file });
        return this.fs;
    }

    set(key: string, type: NvsValueType, value: number | bigint | string | Uint8Array): void { this.w()._set(this.nsIndex, key, type, value); }
    get(key: string, type: NvsValueType): number | bigint | string | Uint8Array {
        const v = this.fs._get(this.nsIndex, key, type);
        return typeof v === "bigint" && type !== "u64" && type !== "i64" ? Number(v) : v;
    }

    setU8(key: string, v: number): void { this.set(key, "u8", v); }
    setI8(key: string, v: number): void { this.set(key, "i8", v); }
    setU16(key: string, v: number): void { this.set(key, "u16", v); }
    setI16(key: string, v: number): void { this.set(key, "i16", v); }
    setU32(key: string, v: number): void { this.set(key, "u32", v); }
    setI32(key: string, v: number): void { this.set(key, "i32", v); }
    setU64(key: string, v: bigint): void { this.set(key, "u64", v); }
    setI64(key: string, v: bigint): void { this.set(key, "i64", v); }
    setStr(key: string, v: string): void { this.set(key, "string", v); }
    setBlob(key: string, v: Uint8Array): void { this.set(key, "blob", v); }

    getU8(key: string): number { return this.get(key, "u8") as number; }
    getI8(key: string): number { return this.get(key, "i8") as number; }
    getU16(key: string): number { return this.get(key, "u16") as number; }
    getI16(key: string): number { return this.get(key, "i16") as number; }
    getU32(key: string): number { return this.get(key, "u32") as number; }
    getI32(key: string): number { return this.get(key, "i32") as number; }
    getU64(key: string): bigint { return this.get(key, "u64") as bigint; }
    getI64(key: string): bigint { return this.get(key, "i64") as bigint; }
    getStr(key: string): string { return this.get(key, "string") as string; }
    getBlob(key: string): Uint8Array { return this.get(key, "blob") as Uint8Array; }

    eraseKey(key: string): void { this.w()._erase(this.nsIndex, key); }
    eraseAll(): void { this.w()._eraseAll(this.nsIndex); }
    commit(): void { this.w(); }
    /** nvs_entry_find over this namespace. */
    keys(): Array<{ key: string; type: NvsValueType }> { return this.fs._keys(this.nsIndex); }
}

/** Mounts an NVS partition read-write (default) over writable flash, repairing what a power loss left. */
export function mountNvsFlash(flash: WritableFlash, options: FlashMountOptions = {}): NvsFlash {
    return NvsFlash.mount(flash, options);
}
