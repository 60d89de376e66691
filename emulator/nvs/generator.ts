/**
 * NVS partition generator: typed items (from csv.ts) → partition image, byte-for-byte what
 * esp-idf-nvs-partition-gen 0.2.0 writes for inputs it handles, with the device's rules where it does not.
 *
 * Deliberate differences from nvs_partition_gen (its bugs are not copied):
 * - revisiting a namespace writes the following entries under that namespace's own index (the generator uses
 *   the index of the most recently *created* namespace, so the device finds them in the wrong namespace);
 * - a data row before any namespace row is an error (the generator writes it under namespace index 0, where
 *   the device keeps namespace definitions);
 * - `binary` data rows are sized by their UTF-8 bytes (the generator counts characters and corrupts non-ASCII);
 * - strings of 3968–4000 bytes (with NUL) go on a fresh page, which they fill exactly (the generator crashes;
 *   the device accepts up to 4000);
 * - any failure throws before anything is returned: no partial output.
 */
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { crc32leRange } from "../esp_rom/crc.js";
import type { NvsItem } from "./csv.js";
import { encryptImageInPlace, type NvsKeys } from "./encryption.js";
import {
    BITMAP_OFFSET,
    BLOB_MAX_SIZE,
    CHUNK_ANY,
    ENTRIES_PER_PAGE,
    ENTRY_SIZE,
    EntryState,
    FIRST_ENTRY_OFFSET,
    INT_TYPES,
    ItemType,
    NVS_VERSION_1,
    NVS_VERSION_2,
    PAGE_SIZE,
    PageState,
    encodePageHeader,
    latin1Bytes,
    writeIntLE,
    writeItem,
    writeU32LE,
} from "./format.js";

export interface GenerateOptions {
    /** Partition size in bytes: a multiple of 4096, ≥ 4096. Below 0x3000 the image is read-only (only used pages). */
    size: number;
    /** 2 (default, multi-page blobs) or 1 (single-page blobs, 1984-byte limit). */
    version?: 1 | 2;
    /** Encrypt entries with these XTS keys. */
    keys?: NvsKeys;
}

/**
 * Where one item's bytes went (recorded for layout.ts when asked): an integer's header, or one payload run of a
 * string / v1 blob / blob_data chunk with the header that holds its size and CRC. Namespace entries and blob
 * indexes are not recorded: they stay the same while the items keep their shape.
 */
export interface ItemSlot {
    /** Index of the item in the `items` given to generateImage. */
    item: number;
    /** Offset of the item header (32-byte entry) in the image. */
    header: number;
    /** Offset of the payload; -1 for an integer. */
    payload: number;
    /** The payload's range in the item's bytes. */
    start: number;
    end: number;
}

export interface GenerateResult {
    image: Uint8Array;
    /** Pages holding a header (used pages). */
    pages: number;
    /** Key-value items written (namespace definitions not counted). */
    entries: number;
    /** 32-byte entries used, namespace definitions and payload entries included. */
    usedEntries: number;
    readOnly: boolean;
}

/** The generator's size rule: (bytes available for data pages, read-only?). */
export function partitionLayout(size: number): { dataBytes: number; readOnly: boolean } {
    if (!Number.isSafeInteger(size) || size < PAGE_SIZE || size % PAGE_SIZE !== 0) {
        throw new EspError(
            "ESP_ERR_INVALID_SIZE",
            `partition size ${size} (0x${Math.max(0, size).toString(16)}) must be a multiple of 4096 and at least 0x1000 (0x3000 for read-write NVS)`,
            { field: "size" },
        );
    }
    // read-write partitions keep their last page erased (the device needs a free page); < 0x3000 is read-only
    if (size - PAGE_SIZE < 2 * PAGE_SIZE) return { dataBytes: size, readOnly: true };
    return { dataBytes: size - PAGE_SIZE, readOnly: false };
}

/**
 * Writes pages straight into the image buffer (erased to 0xFF): no per-page or per-entry buffers, since
 * `generate` builds one partition per device.
 */
class Writer {
    /** Pages holding a header. */
    pages = 0;
    /** Entries used on the current page. */
    used = 0;
    usedEntries = 0;
    private readonly maxPages: number;
    /** Scratch for the 8-byte data field of an item header. */
    private readonly data = new Uint8Array(8).fill(0xff);
    /** When recording (layout.ts): the slots written, and the index of the item being written (-1: a namespace). */
    slots: ItemSlot[] | undefined;
    item = -1;

    constructor(
        readonly image: Uint8Array,
        dataBytes: number,
        readonly version: number,
    ) {
        this.maxPages = Math.floor(dataBytes / PAGE_SIZE);
        this.newPage();
    }

    private get base(): number {
        return (this.pages - 1) * PAGE_SIZE;
    }

    newPage(): void {
        if (this.pages > 0) writeU32LE(this.image, this.base, PageState.FULL); // the page state word is outside the header CRC
        if (this.pages >= this.maxPages) {
            throw new EspError(
                "ESP_ERR_NVS_NOT_ENOUGH_SPACE",
                "the partition size is less than the size of the data in the CSV; increase the size",
                { field: "size" },
            );
        }
        this.image.set(encodePageHeader(PageState.ACTIVE, this.pages, this.version), this.pages * PAGE_SIZE);
        this.pages++;
        this.used = 0;
    }

    /** Marks `count` entries from the next free slot written; returns the offset of the first. */
    private claim(count: number): number {
        if (this.used + count > ENTRIES_PER_PAGE) throw new Error("internal: NVS page overflow");
        const base = this.base;
        const bitmap = base + BITMAP_OFFSET;
        for (let i = this.used, end = this.used + count; i < end; i++) {
            const shift = (i & 3) * 2; // EntryState.WRITTEN (10) over EMPTY (11): clear the low bit
            this.image[bitmap + (i >> 2)] = (this.image[bitmap + (i >> 2)]! & ~(3 << shift)) | (EntryState.WRITTEN << shift);
        }
        const off = base + FIRST_ENTRY_OFFSET + this.used * ENTRY_SIZE;
        this.used += count;
        this.usedEntries += count;
        return off;
    }

    /** An item header whose data field is `this.data`, reset to 0xFF afterwards; returns its offset. */
    private header(nsIndex: number, type: number, span: number, chunkIndex: number, key: Uint8Array): number {
        const off = this.claim(1);
        writeItem(this.image, off, nsIndex, type, span, chunkIndex, key, this.data);
        this.data.fill(0xff);
        return off;
    }

    /** `bytes[start, end)` as the payload entries after a header; returns their offset. */
    private payload(bytes: Uint8Array, start: number, end: number, entries: number): number {
        const off = this.claim(entries);
        this.image.set(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), off);
        return off;
    }

    private record(header: number, payload: number, start: number, end: number): void {
        if (this.slots && this.item >= 0) this.slots.push({ item: this.item, header, payload, start, end });
    }

    primitive(nsIndex: number, key: Uint8Array, type: keyof typeof INT_TYPES, value: bigint): void {
        if (this.used >= ENTRIES_PER_PAGE) this.newPage();
        const t = INT_TYPES[type];
        writeIntLE(this.data, 0, t.bytes, value);
        this.record(this.header(nsIndex, t.code, 1, CHUNK_ANY, key), -1, 0, 0);
    }

    /** A string, or a v1 blob: header + payload on one page. */
    singlePage(nsIndex: number, key: Uint8Array, type: number, payload: Uint8Array): void {
        const dataEntries = Math.ceil(payload.length / ENTRY_SIZE);
        const span = dataEntries + 1;
        // nvs_partition_gen moves on when used + span ≥ 126 (the last entry of a page never ends a string);
        // a span of 126 on a fresh page fills it exactly, which the device accepts (the generator crashes there)
        if (this.used >= ENTRIES_PER_PAGE || (this.used + span >= ENTRIES_PER_PAGE && this.used > 0)) this.newPage();
        this.varlenData(payload, 0, payload.length);
        const h = this.header(nsIndex, type, span, CHUNK_ANY, key);
        this.record(h, this.payload(payload, 0, payload.length, dataEntries), 0, payload.length);
    }

    /** A v2 blob: blob_data chunks filling the free room of each page, then the blob_index. */
    multiPageBlob(nsIndex: number, key: Uint8Array, payload: Uint8Array): void {
        if (this.used >= ENTRIES_PER_PAGE) this.newPage();
        let offset = 0;
        let chunkCount = 0;
        for (;;) {
            const tailroom = (ENTRIES_PER_PAGE - this.used - 1) * ENTRY_SIZE;
            const chunkSize = Math.min(tailroom, payload.length - offset);
            if (chunkCount > 0x7f) {
                throw new EspError("ESP_ERR_NVS_VALUE_TOO_LONG", `blob of ${payload.length} bytes needs more than 128 chunks`, { field: "value" });
            }
            const dataEntries = Math.ceil(chunkSize / ENTRY_SIZE);
            this.varlenData(payload, offset, offset + chunkSize);
            const h = this.header(nsIndex, ItemType.BLOB_DATA, dataEntries + 1, chunkCount, key);
            this.record(h, this.payload(payload, offset, offset + chunkSize, dataEntries), offset, offset + chunkSize);
            chunkCount++;
            offset += chunkSize;
            const remaining = payload.length - offset;
            if (remaining > 0 || tailroom - chunkSize < ENTRY_SIZE) this.newPage();
            if (remaining === 0) break;
        }
        const d = this.data;
        writeU32LE(d, 0, payload.length);
        d[4] = chunkCount;
        d[5] = 0; // chunk start (VER_0)
        this.header(nsIndex, ItemType.BLOB_IDX, 1, CHUNK_ANY, key);
    }

    /** Data field of a string / v1 blob / blob_data header: u16 size, 0xFFFF, CRC32 of the payload. */
    private varlenData(payload: Uint8Array, start: number, end: number): void {
        const d = this.data;
        const n = end - start;
        d[0] = n & 0xff;
        d[1] = n >>> 8;
        writeU32LE(d, 4, crc32leRange(0xffffffff, payload, start, end));
    }
}

const MAX_NAMESPACES = 254;

/** Builds the partition image from items. Throws EspError/DiagnosticError (with the CSV line) on bad input. */
export function generateImage(items: readonly NvsItem[], options: GenerateOptions): GenerateResult {
    return build(items, options, undefined);
}

/** generateImage, plus where each item's header and payload went (layout.ts). */
export function generateImageSlots(items: readonly NvsItem[], options: GenerateOptions): GenerateResult & { slots: ItemSlot[] } {
    const slots: ItemSlot[] = [];
    return { ...build(items, options, slots), slots };
}

function build(items: readonly NvsItem[], options: GenerateOptions, slots: ItemSlot[] | undefined): GenerateResult {
    const version = options.version ?? 2;
    if (version !== 1 && version !== 2) throw new DiagnosticError("NVS_BAD_VERSION", `--version must be 1 or 2, got ${String(version)}`, { field: "version" });
    const { dataBytes, readOnly } = partitionLayout(options.size);
    let image: Uint8Array = new Uint8Array(readOnly ? dataBytes : options.size).fill(0xff);
    const w = new Writer(image, dataBytes, version === 2 ? NVS_VERSION_2 : NVS_VERSION_1);
    w.slots = slots;
    const namespaces = new Map<string, number>();
    let current = 0;
    let entries = 0;

    for (let index = 0; index < items.length; index++) {
        const item = items[index]!;
        const at = { line: item.line, field: "key" };
        w.item = item.kind === "namespace" ? -1 : index;
        try {
            if (item.kind === "namespace") {
                const known = namespaces.get(item.name);
                if (known !== undefined) {
                    current = known; // revisit: later entries go under this namespace's own index
                    continue;
                }
                if (namespaces.size >= MAX_NAMESPACES) {
                    throw new EspError("ESP_ERR_NVS_NOT_ENOUGH_SPACE", `more than ${MAX_NAMESPACES} namespaces`, at);
                }
                const name = keyBytes(item.name, at);
                current = namespaces.size + 1;
                namespaces.set(item.name, current);
                w.primitive(0, name, "u8", BigInt(current));
                continue;
            }
            if (current === 0) {
                throw new EspError("ESP_ERR_NVS_NOT_FOUND", `key '${item.key}' comes before any namespace row; add a 'name,namespace,,' row first`, at);
            }
            const key = keyBytes(item.key, at);
            entries++;
            switch (item.kind) {
                case "int": {
                    const t = INT_TYPES[item.type];
                    if (item.value < t.min || item.value > t.max) {
                        throw new EspError("ESP_ERR_INVALID_ARG", `${item.key}: ${item.value} is out of range for ${item.type}`, { line: item.line, field: "value" });
                    }
                    w.primitive(current, key, item.type, item.value);
                    break;
                }
                case "string": {
                    const limit = version === 1 ? 1984 : 4000;
                    if (item.bytes.length > limit) {
                        throw new EspError("ESP_ERR_NVS_VALUE_TOO_LONG", `${item.key}: string of ${item.bytes.length} bytes (with NUL) exceeds ${limit}`, { line: item.line, field: "value" });
                    }
                    w.singlePage(current, key, ItemType.SZ, item.bytes);
                    break;
                }
                case "blob": {
                    if (version === 1) {
                        if (item.bytes.length > 1984) {
                            throw new EspError("ESP_ERR_NVS_VALUE_TOO_LONG", `${item.key}: blob of ${item.bytes.length} bytes exceeds 1984 (--version 1)`, { line: item.line, field: "value" });
                        }
                        w.singlePage(current, key, ItemType.BLOB, item.bytes);
                    } else {
                        if (item.bytes.length > BLOB_MAX_SIZE) {
                            throw new EspError("ESP_ERR_NVS_VALUE_TOO_LONG", `${item.key}: blob of ${item.bytes.length} bytes exceeds ${BLOB_MAX_SIZE}`, { line: item.line, field: "value" });
                        }
                        w.multiPageBlob(current, key, item.bytes);
                    }
                    break;
                }
            }
        } catch (e) {
            if (e instanceof DiagnosticError && item.line !== undefined) throw e.withContext({ line: item.line });
            throw e;
        }
    }

    const pages = w.pages;
    if (readOnly && pages * PAGE_SIZE < image.length) image = image.slice(0, pages * PAGE_SIZE);
    if (options.keys) encryptImageInPlace(image, options.keys);
    return { image, pages, entries, usedEntries: w.usedEntries, readOnly };
}

/** The key's UTF-8 bytes, checked like nvs_flash does (1..15 bytes). */
function keyBytes(key: string, at: { line?: number; field: string }): Uint8Array {
    let ascii = key.length <= 15;
    for (let i = 0; ascii && i < key.length; i++) if (key.charCodeAt(i) > 0x7f) ascii = false;
    const bytes = ascii ? latin1Bytes(key) : new TextEncoder().encode(key);
    const n = bytes.length;
    if (n > 15) throw new EspError("ESP_ERR_NVS_KEY_TOO_LONG", `key '${key}' is ${n} bytes; NVS keys are at most 15`, at);
    if (n === 0) throw new EspError("ESP_ERR_NVS_INVALID_NAME", "empty key", at);
    return bytes;
}
