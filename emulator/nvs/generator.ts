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
import { espCrc32 } from "../esp_rom/crc.js";
import type { NvsItem } from "./csv.js";
import { encryptImage, type NvsKeys } from "./encryption.js";
import {
    BITMAP_OFFSET,
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
    encodeIntData,
    encodeItem,
    encodePageHeader,
    setBitmapState,
} from "./format.js";

export interface GenerateOptions {
    /** Partition size in bytes: a multiple of 4096, ≥ 4096. Below 0x3000 the image is read-only (only used pages). */
    size: number;
    /** 2 (default, multi-page blobs) or 1 (single-page blobs, 1984-byte limit). */
    version?: 1 | 2;
    /** Encrypt entries with these XTS keys. */
    keys?: NvsKeys;
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

class PageBuf {
    readonly buf = new Uint8Array(PAGE_SIZE).fill(0xff);
    used = 0;

    constructor(seq: number, version: number) {
        this.buf.set(encodePageHeader(PageState.ACTIVE, seq, version), 0);
    }

    setState(state: number): void {
        // the state word is outside the header CRC
        new DataView(this.buf.buffer).setUint32(0, state >>> 0, true);
    }

    /** Writes `count` entries (data padded with 0xFF) at the next free slot and marks them written. */
    write(data: Uint8Array, count: number): void {
        if (this.used + count > ENTRIES_PER_PAGE) throw new Error("internal: NVS page overflow");
        const off = FIRST_ENTRY_OFFSET + this.used * ENTRY_SIZE;
        this.buf.set(data.subarray(0, count * ENTRY_SIZE), off);
        const bitmap = this.buf.subarray(BITMAP_OFFSET, BITMAP_OFFSET + 32);
        for (let i = 0; i < count; i++) setBitmapState(bitmap, this.used + i, EntryState.WRITTEN);
        this.used += count;
    }
}

class Writer {
    readonly pages: PageBuf[] = [];
    private remaining: number;
    usedEntries = 0;

    constructor(
        dataBytes: number,
        readonly version: number,
    ) {
        this.remaining = dataBytes;
        this.newPage();
    }

    get cur(): PageBuf {
        return this.pages[this.pages.length - 1]!;
    }

    newPage(): PageBuf {
        if (this.pages.length > 0 && new DataView(this.cur.buf.buffer).getUint32(0, true) === PageState.ACTIVE) {
            this.cur.setState(PageState.FULL);
        }
        if (this.remaining < PAGE_SIZE) {
            throw new EspError(
                "ESP_ERR_NVS_NOT_ENOUGH_SPACE",
                "the partition size is less than the size of the data in the CSV; increase the size",
                { field: "size" },
            );
        }
        this.remaining -= PAGE_SIZE;
        const p = new PageBuf(this.pages.length, this.version);
        this.pages.push(p);
        return p;
    }

    private put(data: Uint8Array, count: number): void {
        this.cur.write(data, count);
        this.usedEntries += count;
    }

    writeItemHeader(fields: Parameters<typeof encodeItem>[0]): void {
        this.put(encodeItem(fields), 1);
    }

    primitive(nsIndex: number, key: Uint8Array, type: keyof typeof INT_TYPES, value: bigint): void {
        if (this.cur.used >= ENTRIES_PER_PAGE) this.newPage();
        this.writeItemHeader({ nsIndex, type: INT_TYPES[type].code, span: 1, chunkIndex: CHUNK_ANY, key, data: encodeIntData(type, value) });
    }

    /** A string, or a v1 blob: header + payload on one page. */
    singlePage(nsIndex: number, key: Uint8Array, type: number, payload: Uint8Array): void {
        const dataEntries = Math.ceil(payload.length / ENTRY_SIZE);
        const span = dataEntries + 1;
        // nvs_partition_gen moves on when used + span ≥ 126 (the last entry of a page never ends a string);
        // a span of 126 on a fresh page fills it exactly, which the device accepts (the generator crashes there)
        if (this.cur.used >= ENTRIES_PER_PAGE || (this.cur.used + span >= ENTRIES_PER_PAGE && this.cur.used > 0)) this.newPage();
        this.writeItemHeader({ nsIndex, type, span, chunkIndex: CHUNK_ANY, key, data: varlenData(payload) });
        this.put(payload, dataEntries);
    }

    /** A v2 blob: blob_data chunks filling the free room of each page, then the blob_index. */
    multiPageBlob(nsIndex: number, key: Uint8Array, payload: Uint8Array): void {
        if (this.cur.used >= ENTRIES_PER_PAGE) this.newPage();
        let offset = 0;
        let chunkCount = 0;
        for (;;) {
            const tailroom = (ENTRIES_PER_PAGE - this.cur.used - 1) * ENTRY_SIZE;
            const chunkSize = Math.min(tailroom, payload.length - offset);
            const chunk = payload.subarray(offset, offset + chunkSize);
            if (chunkCount > 0x7f) {
                throw new EspError("ESP_ERR_NVS_VALUE_TOO_LONG", `blob of ${payload.length} bytes needs more than 128 chunks`, { field: "value" });
            }
            const dataEntries = Math.ceil(chunkSize / ENTRY_SIZE);
            this.writeItemHeader({ nsIndex, type: ItemType.BLOB_DATA, span: dataEntries + 1, chunkIndex: chunkCount, key, data: varlenData(chunk) });
            this.put(chunk, dataEntries);
            chunkCount++;
            offset += chunkSize;
            const remaining = payload.length - offset;
            if (remaining > 0 || tailroom - chunkSize < ENTRY_SIZE) this.newPage();
            if (remaining === 0) break;
        }
        const idx = new Uint8Array(8).fill(0xff);
        new DataView(idx.buffer).setUint32(0, payload.length, true);
        idx[4] = chunkCount;
        idx[5] = 0; // chunk start (VER_0)
        this.writeItemHeader({ nsIndex, type: ItemType.BLOB_IDX, span: 1, chunkIndex: CHUNK_ANY, key, data: idx });
    }
}

/** Data field of a string / v1 blob / blob_data header: u16 size, 0xFFFF, CRC32 of the payload. */
function varlenData(payload: Uint8Array): Uint8Array {
    const d = new Uint8Array(8).fill(0xff);
    const dv = new DataView(d.buffer);
    dv.setUint16(0, payload.length, true);
    dv.setUint32(4, espCrc32(payload), true);
    return d;
}

const MAX_NAMESPACES = 254;

/** Builds the partition image from items. Throws EspError/DiagnosticError (with the CSV line) on bad input. */
export function generateImage(items: NvsItem[], options: GenerateOptions): GenerateResult {
    const version = options.version ?? 2;
    if (version !== 1 && version !== 2) throw new DiagnosticError("NVS_BAD_VERSION", `--version must be 1 or 2, got ${String(version)}`, { field: "version" });
    const { dataBytes, readOnly } = partitionLayout(options.size);
    const w = new Writer(dataBytes, version === 2 ? NVS_VERSION_2 : NVS_VERSION_1);
    const namespaces = new Map<string, number>();
    let current = 0;
    let entries = 0;
    const utf8 = new TextEncoder();

    for (const item of items) {
        const at = { line: item.line, field: "key" };
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
                checkKey(item.name, at);
                current = namespaces.size + 1;
                namespaces.set(item.name, current);
                w.primitive(0, utf8.encode(item.name), "u8", BigInt(current));
                continue;
            }
            if (current === 0) {
                throw new EspError("ESP_ERR_NVS_NOT_FOUND", `key '${item.key}' comes before any namespace row; add a 'name,namespace,,' row first`, at);
            }
            checkKey(item.key, at);
            const key = utf8.encode(item.key);
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

    const pages = w.pages.length;
    const total = readOnly ? pages * PAGE_SIZE : options.size;
    let image: Uint8Array = new Uint8Array(total).fill(0xff);
    w.pages.forEach((p, i) => image.set(p.buf, i * PAGE_SIZE));
    if (options.keys) image = encryptImage(image, options.keys);
    return { image, pages, entries, usedEntries: w.usedEntries, readOnly };
}

function checkKey(key: string, at: { line?: number; field: string }): void {
    const n = new TextEncoder().encode(key).length;
    if (n > 15) throw new EspError("ESP_ERR_NVS_KEY_TOO_LONG", `key '${key}' is ${n} bytes; NVS keys are at most 15`, at);
    if (n === 0) throw new EspError("ESP_ERR_NVS_INVALID_NAME", "empty key", at);
}
