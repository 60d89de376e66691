/**
 * A minimal, strict Matter TLV element reader (Matter Core §A.7), enough to walk the OTA image header the way
 * connectedhomeip's TLVReader does in OTAImageHeaderParser::DecodeTlv, with byte offsets for diagnostics.
 * Encoding is not done here: the header is encoded with matter.js's TlvOtaImageHeader, which emits the same
 * bytes as ota_image_tool.py's TLVWriter (smallest integer/length width, fields in tag order).
 *
 * Every problem becomes a DiagnosticError with a CHIP_ERROR_* code; the reader never reads past `limit`.
 */
import { DiagnosticError } from "../esp_common/err.js";

export type TlvKind = "int" | "uint" | "bool" | "float" | "utf8" | "bytes" | "null" | "struct" | "array" | "list" | "end";

export interface TlvElement {
    /** Offset of the control byte. */
    offset: number;
    /** Offset just past the element (for containers: past the control byte and tag, i.e. the first member). */
    next: number;
    kind: TlvKind;
    /** "anonymous", "context" (tag = its number) or "profile" (profile-specific or fully-qualified, tag = tag number). */
    tagForm: "anonymous" | "context" | "profile";
    tag: number | null;
    /** Integer value (int/uint), boolean, float, or string/bytes payload. */
    value?: bigint | boolean | number | Uint8Array;
}

const TAG_SIZES = [0, 1, 2, 4, 2, 4, 6, 8] as const;

function underrun(offset: number, what: string, base: number): DiagnosticError {
    return new DiagnosticError("CHIP_ERROR_TLV_UNDERRUN", `TLV ${what} runs past the end of the header`, { offset: base + offset });
}

function readUIntLE(buf: Uint8Array, pos: number, size: number): bigint {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[pos + i]!);
    return v;
}

/**
 * Reads one element at `pos` (buf[0..limit)). `base` is added to offsets in error messages (the position of
 * `buf[0]` in the file).
 */
export function readTlvElement(buf: Uint8Array, pos: number, limit: number, base = 0): TlvElement {
    if (pos >= limit) throw underrun(pos, "element", base);
    const control = buf[pos]!;
    const tagControl = control >> 5;
    const type = control & 0x1f;
    let p = pos + 1;
    const tagSize = TAG_SIZES[tagControl]!;
    if (p + tagSize > limit) throw underrun(pos, "tag", base);
    let tag: number | null = null;
    let tagForm: TlvElement["tagForm"] = "anonymous";
    if (tagControl === 1) {
        tagForm = "context";
        tag = buf[p]!;
    } else if (tagControl !== 0) {
        tagForm = "profile";
        // the tag number is the last 2 or 4 bytes of the tag field
        const numSize = tagSize === 6 || tagSize === 2 ? 2 : 4;
        tag = Number(readUIntLE(buf, p + tagSize - numSize, numSize));
    }
    p += tagSize;

    const fixed = (kind: TlvKind, size: number): TlvElement => {
        if (p + size > limit) throw underrun(pos, "value", base);
        return { offset: pos, next: p + size, kind, tagForm, tag };
    };

    if (type <= 0x07) {
        const size = 1 << (type & 3);
        const el = fixed(type <= 0x03 ? "int" : "uint", size);
        let v = readUIntLE(buf, p, size);
        if (type <= 0x03 && v >= 1n << BigInt(size * 8 - 1)) v -= 1n << BigInt(size * 8);
        el.value = v;
        return el;
    }
    if (type === 0x08 || type === 0x09) return { ...fixed("bool", 0), value: type === 0x09 };
    if (type === 0x0a || type === 0x0b) {
        const size = type === 0x0a ? 4 : 8;
        const el = fixed("float", size);
        const view = new DataView(buf.buffer, buf.byteOffset + p, size);
        el.value = size === 4 ? view.getFloat32(0, true) : view.getFloat64(0, true);
        return el;
    }
    if (type >= 0x0c && type <= 0x13) {
        const lenSize = 1 << (type & 3);
        if (p + lenSize > limit) throw underrun(pos, "length", base);
        const len = readUIntLE(buf, p, lenSize);
        p += lenSize;
        if (len > BigInt(limit - p)) throw underrun(pos, `string of ${len} bytes`, base);
        const n = Number(len);
        return { offset: pos, next: p + n, kind: type <= 0x0f ? "utf8" : "bytes", tagForm, tag, value: buf.subarray(p, p + n) };
    }
    if (type === 0x14) return fixed("null", 0);
    if (type === 0x15) return fixed("struct", 0);
    if (type === 0x16) return fixed("array", 0);
    if (type === 0x17) return fixed("list", 0);
    if (type === 0x18) {
        if (tagControl !== 0) {
            throw new DiagnosticError("CHIP_ERROR_INVALID_TLV_TAG", "end-of-container with a tag", { offset: base + pos });
        }
        return fixed("end", 0);
    }
    throw new DiagnosticError("CHIP_ERROR_INVALID_TLV_ELEMENT", `invalid TLV element type 0x${type.toString(16)}`, { offset: base + pos });
}

/** Skips a whole element (a container with everything inside it); returns the offset past it. Iterative. */
export function skipTlvElement(buf: Uint8Array, pos: number, limit: number, base = 0): number {
    const first = readTlvElement(buf, pos, limit, base);
    if (first.kind === "end") {
        throw new DiagnosticError("CHIP_ERROR_INVALID_TLV_ELEMENT", "unexpected end-of-container", { offset: base + pos });
    }
    let depth = first.kind === "struct" || first.kind === "array" || first.kind === "list" ? 1 : 0;
    let p = first.next;
    while (depth > 0) {
        const el = readTlvElement(buf, p, limit, base);
        if (el.kind === "end") depth--;
        else if (el.kind === "struct" || el.kind === "array" || el.kind === "list") depth++;
        p = el.next;
    }
    return p;
}

/**
 * The matching minimal writer: context-tagged unsigned integers, UTF-8 and byte strings inside one anonymous
 * structure, each with the smallest width — the encoding of connectedhomeip's python TLVWriter (`uint`, str,
 * bytes) and of matter.js's TlvObject (tests compare all three). Kept here instead of importing matter.js's
 * codec so `ota create` does not pay matter.js's ≈1 s (≈3 s under tsx) import for a 60-byte header.
 */
export class TlvStructWriter {
    readonly #out: number[] = [0x15];

    static #width(n: bigint): 0 | 1 | 2 | 3 {
        return n <= 0xffn ? 0 : n <= 0xffffn ? 1 : n <= 0xffffffffn ? 2 : 3;
    }

    #le(n: bigint, w: number): void {
        for (let i = 0; i < 1 << w; i++) this.#out.push(Number((n >> BigInt(8 * i)) & 0xffn));
    }

    uint(tag: number, value: number | bigint): this {
        const v = BigInt(value);
        if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`TLV unsigned integer out of range: ${v}`);
        const w = TlvStructWriter.#width(v);
        this.#out.push(0x24 | w, tag);
        this.#le(v, w);
        return this;
    }

    #string(type: 0x0c | 0x10, tag: number, data: Uint8Array): this {
        const len = BigInt(data.length);
        const w = TlvStructWriter.#width(len);
        this.#out.push(0x20 | type | w, tag);
        this.#le(len, w);
        for (const b of data) this.#out.push(b);
        return this;
    }

    utf8(tag: number, s: string): this {
        return this.#string(0x0c, tag, new TextEncoder().encode(s));
    }

    bytes(tag: number, b: Uint8Array): this {
        return this.#string(0x10, tag, b);
    }

    /** Closes the structure and returns the encoding. */
    finish(): Uint8Array {
        return Uint8Array.from([...this.#out, 0x18]);
    }
}
