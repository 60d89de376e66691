/**
 * The factory NVS partition of one device as an editable object: read and change chip-factory keys (the
 * partition is re-generated with the same NVS encryption keys, like re-running the generator with an edited
 * CSV), or damage bytes and page headers directly.
 */
import { DiagnosticError, EspError } from "../../emulator/esp_common/err.js";
import { espCrc32 } from "../../emulator/esp_rom/crc.js";
import {
    ENTRIES_PER_PAGE, PAGE_SIZE, decodeNvsKeys, encryptImage, generateImage, mountNvs, type IntTypeName, type NvsEntryView, type NvsItem, type NvsKeys,
} from "../../emulator/nvs/index.js";

export type FactoryValue = number | bigint | string | Uint8Array;
export type FactoryType = IntTypeName | "string" | "blob";

export const CHIP_FACTORY = "chip-factory";

/** Page header states (nvs.md). */
const PAGE_STATE = { ACTIVE: 0xfffffffe, FULL: 0xfffffffc } as const;

export class FactoryPartition {
    #bytes: Uint8Array;
    /** The XTS keys the image is encrypted with (undefined: plaintext). Kept when the nvs_keys partition changes. */
    readonly keys: NvsKeys | undefined;

    constructor(bytes: Uint8Array, keys?: NvsKeys | Uint8Array) {
        this.#bytes = Uint8Array.from(bytes);
        this.keys = keys instanceof Uint8Array ? decodeNvsKeys(keys) : keys;
    }

    /** The partition image as it would be flashed. */
    get bytes(): Uint8Array {
        return this.#bytes;
    }

    get size(): number {
        return this.#bytes.length;
    }

    /** Every key of every namespace, decrypted (later duplicates win, as on the device). */
    entries(): NvsEntryView[] {
        return mountNvs(this.#bytes, { keys: this.keys, readOnly: true }).entries();
    }

    /** A chip-factory value (undefined when absent). */
    get(key: string, namespace = CHIP_FACTORY): FactoryValue | undefined {
        return this.entries().find(e => e.namespace === namespace && e.key === key)?.value;
    }

    has(key: string, namespace = CHIP_FACTORY): boolean {
        return this.entries().some(e => e.namespace === namespace && e.key === key);
    }

    /**
     * Sets a key (appended when new). Type: from the existing entry, else numbers → u32, strings → string,
     * bytes → blob; pass `type` to write another NVS type (e.g. a u8 discriminator → ESP_ERR_NVS_TYPE_MISMATCH).
     */
    set(key: string, value: FactoryValue, type?: FactoryType, namespace = CHIP_FACTORY): this {
        const list = this.entries();
        const existing = list.find(e => e.namespace === namespace && e.key === key);
        const t: FactoryType = type ?? existing?.type ?? (typeof value === "string" ? "string" : value instanceof Uint8Array ? "blob" : typeof value === "bigint" ? "u64" : "u32");
        const entry: NvsEntryView = { namespace, key, type: t, value: t === "u64" || t === "i64" ? BigInt(value as number) : value };
        if (existing) list[list.indexOf(existing)] = entry;
        else {
            const lastOfNs = list.map(e => e.namespace).lastIndexOf(namespace);
            list.splice(lastOfNs < 0 ? list.length : lastOfNs + 1, 0, entry);
        }
        this.#bytes = encode(list, this.size, this.keys);
        return this;
    }

    /** Removes a key (the device then reads ESP_ERR_NVS_NOT_FOUND). */
    delete(key: string, namespace = CHIP_FACTORY): this {
        const list = this.entries();
        if (!list.some(e => e.namespace === namespace && e.key === key)) {
            throw new DiagnosticError("ESP_ERR_NVS_NOT_FOUND", `${namespace}/${key} is not in the factory partition`, { field: key });
        }
        this.#bytes = encode(list.filter(e => !(e.namespace === namespace && e.key === key)), this.size, this.keys);
        return this;
    }

    /** Re-generates the same content with another partition size (below 0x3000 the image is read-only and trimmed). */
    resize(size: number): this {
        this.#bytes = encode(this.entries(), size, this.keys);
        return this;
    }

    /** Overwrites bytes at a partition offset (raw: on encrypted entries this is ciphertext). */
    patch(offset: number, data: Uint8Array | number[]): this {
        const d = Uint8Array.from(data);
        if (!Number.isInteger(offset) || offset < 0 || offset + d.length > this.size) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `patch 0x${offset.toString(16)}+${d.length} is outside the 0x${this.size.toString(16)}-byte partition`, { offset });
        }
        this.#bytes.set(d, offset);
        return this;
    }

    /** Flips one bit (bit 0 = LSB) of the byte at `offset`. */
    flipBit(offset: number, bit = 0): this {
        if (!Number.isInteger(offset) || offset < 0 || offset >= this.size || bit < 0 || bit > 7) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `bit ${bit} of byte 0x${offset.toString(16)} is outside the partition`, { offset });
        }
        this.#bytes[offset]! ^= 1 << bit;
        return this;
    }

    /** Partition offset of the first entry whose key is `key` (its 32-byte header), or undefined. */
    offsetOf(key: string): number | undefined {
        const needle = new TextEncoder().encode(key);
        for (let page = 0; page < this.size / PAGE_SIZE; page++) {
            for (let i = 0; i < ENTRIES_PER_PAGE; i++) {
                const at = page * PAGE_SIZE + 64 + i * 32;
                const k = this.#bytes.subarray(at + 8, at + 24);
                if (!this.keys && k.subarray(0, needle.length).every((b, j) => b === needle[j]) && k[needle.length] === 0) return at;
            }
        }
        return undefined;
    }

    /**
     * What generators before esp-idf-nvs-partition-gen 0.1.7 did (esp-idf#15279): write a header (state FULL or
     * ACTIVE, sequence number, CRC) on the unused pages too. The reserved last page stays blank.
     */
    markUnusedPages(state: keyof typeof PAGE_STATE = "FULL"): this {
        const pages = this.size / PAGE_SIZE;
        for (let p = 0; p < pages - 1; p++) {
            const base = p * PAGE_SIZE;
            if (!this.#bytes.subarray(base, base + PAGE_SIZE).every(b => b === 0xff)) continue;
            const header = new Uint8Array(32).fill(0xff);
            const dv = new DataView(header.buffer);
            dv.setUint32(0, PAGE_STATE[state], true);
            dv.setUint32(4, p, true);
            header[8] = 0xfe;
            dv.setUint32(28, espCrc32(header.subarray(4, 28)), true);
            this.#bytes.set(header, base);
        }
        return this;
    }
}

function encode(list: readonly NvsEntryView[], size: number, keys: NvsKeys | undefined): Uint8Array {
    const items: NvsItem[] = [];
    const order: string[] = [];
    for (const e of list) if (!order.includes(e.namespace)) order.push(e.namespace);
    for (const ns of order) {
        items.push({ kind: "namespace", name: ns });
        for (const e of list.filter(x => x.namespace === ns)) {
            if (e.type === "string") items.push({ kind: "string", key: e.key, bytes: new TextEncoder().encode(`${String(e.value)}\0`) });
            else if (e.type === "blob") items.push({ kind: "blob", key: e.key, bytes: e.value as Uint8Array });
            else items.push({ kind: "int", key: e.key, type: e.type, value: BigInt(e.value as number | bigint) });
        }
    }
    const plain = generateImage(items, { size }).image;
    return keys ? encryptImage(plain, keys) : plain;
}
