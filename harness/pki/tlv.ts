/**
 * Minimal Matter TLV (core spec Appendix A) reader and writer with the semantics of CHIP's TLVReader that the
 * attestation code depends on: typed getters that refuse the wrong element type or an out-of-range integer,
 * context/anonymous/profile tags, strict bounds. Pure, no I/O; errors are DiagnosticErrors named like CHIP's
 * (CHIP_ERROR_TLV_UNDERRUN, CHIP_ERROR_WRONG_TLV_TYPE, …).
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";

export type TlvTag =
    | { kind: "anonymous" }
    | { kind: "context"; num: number }
    | { kind: "profile"; profile: number | undefined; num: number };

export type TlvType = "int" | "uint" | "bool" | "float" | "utf8" | "bytes" | "null" | "struct" | "array" | "list";

export interface TlvElement {
    tag: TlvTag;
    type: TlvType;
    /** Integer value (int/uint), boolean, number (float), string bytes, or the children of a container. */
    value: bigint | boolean | number | Uint8Array | TlvElement[] | null;
    /** Offset of the control byte. */
    offset: number;
}

export class TlvError extends DiagnosticError {
    override name = "TlvError";
}

const MAX_DEPTH = 16;

/** Decodes one top-level element filling all of `buf` (trailing bytes are an error). */
export function decodeTlv(buf: Uint8Array, field = "TLV"): TlvElement {
    const r = { pos: 0 };
    const el = readOne(buf, r, 0, field);
    if (el === "end") throw new TlvError("CHIP_ERROR_INVALID_TLV_ELEMENT", "unexpected end-of-container at top level", { offset: 0, field });
    if (r.pos !== buf.length) throw new TlvError("CHIP_ERROR_INVALID_TLV_ELEMENT", `${buf.length - r.pos} trailing bytes after the TLV element`, { offset: r.pos, field });
    return el;
}

function need(buf: Uint8Array, pos: number, n: number, field: string): void {
    if (pos + n > buf.length) throw new TlvError("CHIP_ERROR_TLV_UNDERRUN", `need ${n} bytes at offset ${pos}, only ${buf.length - pos} left`, { offset: pos, field });
}

function le(buf: Uint8Array, pos: number, n: number): bigint {
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[pos + i]!);
    return v;
}

function readOne(buf: Uint8Array, r: { pos: number }, depth: number, field: string): TlvElement | "end" {
    need(buf, r.pos, 1, field);
    const offset = r.pos;
    const control = buf[r.pos++]!;
    const tagControl = control >> 5;
    const et = control & 0x1f;
    if (et === 0x18) {
        if (tagControl !== 0) throw new TlvError("CHIP_ERROR_INVALID_TLV_TAG", "end-of-container with a tag", { offset, field });
        return "end";
    }
    let tag: TlvTag;
    switch (tagControl) {
        case 0: tag = { kind: "anonymous" }; break;
        case 1: need(buf, r.pos, 1, field); tag = { kind: "context", num: buf[r.pos++]! }; break;
        case 2: need(buf, r.pos, 2, field); tag = { kind: "profile", profile: 0, num: Number(le(buf, r.pos, 2)) }; r.pos += 2; break;
        case 3: need(buf, r.pos, 4, field); tag = { kind: "profile", profile: 0, num: Number(le(buf, r.pos, 4)) }; r.pos += 4; break;
        case 4: need(buf, r.pos, 2, field); tag = { kind: "profile", profile: undefined, num: Number(le(buf, r.pos, 2)) }; r.pos += 2; break;
        case 5: need(buf, r.pos, 4, field); tag = { kind: "profile", profile: undefined, num: Number(le(buf, r.pos, 4)) }; r.pos += 4; break;
        case 6: need(buf, r.pos, 6, field); tag = { kind: "profile", profile: Number(le(buf, r.pos, 4)), num: Number(le(buf, r.pos + 4, 2)) }; r.pos += 6; break;
        default: need(buf, r.pos, 8, field); tag = { kind: "profile", profile: Number(le(buf, r.pos, 4)), num: Number(le(buf, r.pos + 4, 4)) }; r.pos += 8; break;
    }
    const size = (x: number) => 1 << (x & 3);
    if (et <= 0x07) {
        const n = size(et);
        need(buf, r.pos, n, field);
        let v = le(buf, r.pos, n);
        r.pos += n;
        if (et <= 0x03) {
            if (v & (1n << BigInt(8 * n - 1))) v -= 1n << BigInt(8 * n);
            return { tag, type: "int", value: v, offset };
        }
        return { tag, type: "uint", value: v, offset };
    }
    if (et === 0x08 || et === 0x09) return { tag, type: "bool", value: et === 0x09, offset };
    if (et === 0x0a || et === 0x0b) {
        const n = et === 0x0a ? 4 : 8;
        need(buf, r.pos, n, field);
        const dv = new DataView(buf.buffer, buf.byteOffset + r.pos, n);
        r.pos += n;
        return { tag, type: "float", value: n === 4 ? dv.getFloat32(0, true) : dv.getFloat64(0, true), offset };
    }
    if (et >= 0x0c && et <= 0x13) {
        const n = size(et);
        need(buf, r.pos, n, field);
        const len = le(buf, r.pos, n);
        r.pos += n;
        if (len > BigInt(buf.length - r.pos)) throw new TlvError("CHIP_ERROR_TLV_UNDERRUN", `string of ${len} bytes runs past the end`, { offset, field });
        const bytes = buf.subarray(r.pos, r.pos + Number(len));
        r.pos += Number(len);
        return { tag, type: et <= 0x0f ? "utf8" : "bytes", value: bytes, offset };
    }
    if (et === 0x14) return { tag, type: "null", value: null, offset };
    if (et >= 0x15 && et <= 0x17) {
        if (depth >= MAX_DEPTH) throw new TlvError("CHIP_ERROR_INVALID_TLV_ELEMENT", "containers nested too deeply", { offset, field });
        const kids: TlvElement[] = [];
        for (;;) {
            const c = readOne(buf, r, depth + 1, field);
            if (c === "end") break;
            kids.push(c);
        }
        return { tag, type: et === 0x15 ? "struct" : et === 0x16 ? "array" : "list", value: kids, offset };
    }
    throw new TlvError("CHIP_ERROR_INVALID_TLV_ELEMENT", `invalid element type 0x${et.toString(16)}`, { offset, field });
}

export function isContext(el: TlvElement | undefined, num: number): boolean {
    return el !== undefined && el.tag.kind === "context" && el.tag.num === num;
}

/** CHIP's Get(uintN): unsigned element type and value ≤ max. */
export function getUint(el: TlvElement, max: number, field: string): number {
    if (el.type !== "uint") throw new TlvError("CHIP_ERROR_WRONG_TLV_TYPE", `expected an unsigned integer, got ${el.type}`, { offset: el.offset, field });
    const v = el.value as bigint;
    if (v > BigInt(max)) throw new TlvError("CHIP_ERROR_INVALID_INTEGER_VALUE", `value ${v} exceeds 0x${max.toString(16)}`, { offset: el.offset, field });
    return Number(v);
}

export function getBytes(el: TlvElement, field: string): Uint8Array {
    if (el.type !== "bytes") throw new TlvError("CHIP_ERROR_WRONG_TLV_TYPE", `expected a byte string, got ${el.type}`, { offset: el.offset, field });
    return el.value as Uint8Array;
}

export function getContainer(el: TlvElement, type: "struct" | "array" | "list", field: string): TlvElement[] {
    if (el.type !== type) throw new TlvError("CHIP_ERROR_WRONG_TLV_TYPE", `expected ${type}, got ${el.type}`, { offset: el.offset, field });
    return el.value as TlvElement[];
}

// ---------------------------------------------------------------- writer

export class TlvWriter {
    private parts: number[] = [];

    private tag(tag: number | undefined, type: number): void {
        if (tag === undefined) this.parts.push(type);
        else this.parts.push(0x20 | type, tag);
    }
    private le(v: bigint | number, n: number): void {
        let x = BigInt(v);
        for (let i = 0; i < n; i++) {
            this.parts.push(Number(x & 0xffn));
            x >>= 8n;
        }
    }
    /** Unsigned integer, smallest width (as CHIP's writer). */
    uint(tag: number | undefined, v: number | bigint): this {
        const x = BigInt(v);
        const [t, n] = x <= 0xffn ? [0x04, 1] : x <= 0xffffn ? [0x05, 2] : x <= 0xffffffffn ? [0x06, 4] : [0x07, 8];
        this.tag(tag, t);
        this.le(x, n);
        return this;
    }
    bytes(tag: number | undefined, b: Uint8Array): this {
        const [t, n] = b.length <= 0xff ? [0x10, 1] : b.length <= 0xffff ? [0x11, 2] : [0x12, 4];
        this.tag(tag, t);
        this.le(b.length, n);
        this.parts.push(...b);
        return this;
    }
    utf8(tag: number | undefined, s: string): this {
        const b = new TextEncoder().encode(s);
        const [t, n] = b.length <= 0xff ? [0x0c, 1] : b.length <= 0xffff ? [0x0d, 2] : [0x0e, 4];
        this.tag(tag, t);
        this.le(b.length, n);
        this.parts.push(...b);
        return this;
    }
    startStruct(tag?: number): this {
        this.tag(tag, 0x15);
        return this;
    }
    startArray(tag?: number): this {
        this.tag(tag, 0x16);
        return this;
    }
    end(): this {
        this.parts.push(0x18);
        return this;
    }
    /** Appends pre-encoded TLV bytes. */
    raw(b: Uint8Array): this {
        this.parts.push(...b);
        return this;
    }
    toBytes(): Uint8Array {
        return Uint8Array.from(this.parts);
    }
}
