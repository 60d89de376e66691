/**
 * Partition layouts, recorded once and refilled: many images of the same shape (esp-matter-mfg-tool writes one
 * chip-factory partition per device, every one with the same keys, types and value sizes) cost one generateImage
 * and then a copy plus the new values each.
 *
 * `recordLayout(items, options)` generates the plaintext image once and keeps where every item's header and payload
 * went; `fillLayout(layout, items, keys)` copies that image, writes the new values, their payload CRCs and header
 * CRCs in place, and XTS-encrypts the entries the layout uses. The result is byte for byte what
 * `generateImage(items, { ...options, keys })` writes (a property test holds them together). Items of another
 * shape — other keys, types, payload sizes, order, or an integer out of its type's range — give `undefined`: the
 * caller generates those the ordinary way (and gets its errors). `NvsImageCache` does both for a caller.
 */
import { crc32leRange } from "../esp_rom/crc.js";
import type { NvsItem } from "./csv.js";
import { encryptEntriesInPlace, writtenEntryOffsets, type NvsKeys } from "./encryption.js";
import { INT_TYPES, itemCrc, writeIntLE, writeU32LE } from "./format.js";
import { generateImageSlots, type GenerateOptions, type ItemSlot } from "./generator.js";

/** An item as far as the layout depends on it: kind, key (or namespace name), integer type, payload size. */
interface ItemShape {
    kind: NvsItem["kind"];
    name: string;
    type: string;
    length: number;
}

export interface NvsLayout {
    readonly size: number;
    readonly version: 1 | 2;
    /** The plaintext image of the items the layout was recorded from. */
    readonly image: Uint8Array;
    readonly shape: readonly ItemShape[];
    readonly slots: readonly ItemSlot[];
    /** Offsets of the written entries (what encryption covers). */
    readonly entries: Int32Array;
}

function shapeOf(item: NvsItem): ItemShape {
    switch (item.kind) {
        case "namespace":
            return { kind: item.kind, name: item.name, type: "", length: 0 };
        case "int":
            return { kind: item.kind, name: item.key, type: item.type, length: 0 };
        default:
            return { kind: item.kind, name: item.key, type: "", length: item.bytes.length };
    }
}

/** Generates the plaintext image of `items` (throwing what generateImage throws) and records its layout. */
export function recordLayout(items: readonly NvsItem[], options: Omit<GenerateOptions, "keys">): NvsLayout {
    const { image, slots } = generateImageSlots(items, { size: options.size, ...(options.version ? { version: options.version } : {}) });
    return { size: options.size, version: options.version ?? 2, image, shape: items.map(shapeOf), slots, entries: writtenEntryOffsets(image) };
}

/** True when `items` would be laid out exactly like the layout's (and none is out of its type's range). */
export function fitsLayout(layout: NvsLayout, items: readonly NvsItem[]): boolean {
    const shape = layout.shape;
    if (items.length !== shape.length) return false;
    for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        const s = shape[i]!;
        if (item.kind !== s.kind) return false;
        if (item.kind === "namespace") {
            if (item.name !== s.name) return false;
        } else if (item.key !== s.name) return false;
        else if (item.kind === "int") {
            const t = INT_TYPES[item.type];
            if (item.type !== s.type || item.value < t.min || item.value > t.max) return false;
        } else if (item.bytes.length !== s.length) return false;
    }
    return true;
}

/**
 * The image of `items` in a recorded layout — generateImage's bytes, encrypted with `keys` when given — or
 * undefined when the items do not fit it (see fitsLayout).
 */
export function fillLayout(layout: NvsLayout, items: readonly NvsItem[], keys?: NvsKeys): Uint8Array | undefined {
    if (!fitsLayout(layout, items)) return undefined;
    const image = layout.image.slice();
    for (const slot of layout.slots) {
        const item = items[slot.item]!;
        const h = slot.header;
        if (item.kind === "int") {
            writeIntLE(image, h + 24, INT_TYPES[item.type].bytes, item.value);
        } else if (item.kind !== "namespace") {
            // a payload run: its bytes, then its CRC in the header's data field (size and the 0xFFFF stay)
            const bytes = item.bytes;
            image.set(slot.start === 0 && slot.end === bytes.length ? bytes : bytes.subarray(slot.start, slot.end), slot.payload);
            const crc = crc32leRange(0xffffffff, bytes, slot.start, slot.end);
            writeU32LE(image, h + 28, crc);
        }
        writeU32LE(image, h + 4, itemCrc(image, h));
    }
    return keys ? encryptEntriesInPlace(image, layout.entries, keys) : image;
}

/**
 * generateImage for a stream of images of few shapes (a batch's partitions): each shape's layout is recorded on its
 * first image and refilled for the next ones. Same bytes as `generateImage(items, options).image`, same errors.
 */
export class NvsImageCache {
    private readonly layouts: NvsLayout[] = [];

    /**
     * `maxLayouts`: shapes kept (a batch's DACs differ in length by a byte or two); a new shape beyond them replaces
     * the one used longest ago (a long-lived process goes through many batches).
     */
    constructor(readonly maxLayouts = 8) {}

    generate(items: readonly NvsItem[], options: GenerateOptions): Uint8Array {
        const version = options.version ?? 2;
        for (const layout of this.layouts) {
            if (layout.size !== options.size || layout.version !== version) continue;
            const image = fillLayout(layout, items, options.keys);
            if (image) {
                if (layout !== this.layouts[this.layouts.length - 1]) this.layouts.push(...this.layouts.splice(this.layouts.indexOf(layout), 1));
                return image;
            }
        }
        const layout = recordLayout(items, options);
        if (this.layouts.length >= this.maxLayouts) this.layouts.shift();
        this.layouts.push(layout);
        return fillLayout(layout, items, options.keys)!;
    }
}
