/**
 * A small strict DER reader and writer (X.690 §10): definite minimal lengths, single-byte tags, no trailing
 * bytes. asn1js (under @peculiar/asn1-*) also accepts BER (indefinite and non-minimal lengths), which a strict
 * commissioner must refuse, so certificates and CMS are read with this module; every failure is a
 * DiagnosticError naming the field and the offset. Pure functions over Uint8Array, no I/O.
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { concatBytes } from "../../emulator/esp_common/bytes.js";

export const TAG = {
    BOOLEAN: 0x01,
    INTEGER: 0x02,
    BIT_STRING: 0x03,
    OCTET_STRING: 0x04,
    NULL: 0x05,
    OID: 0x06,
    UTF8String: 0x0c,
    PrintableString: 0x13,
    T61String: 0x14,
    IA5String: 0x16,
    UTCTime: 0x17,
    GeneralizedTime: 0x18,
    UniversalString: 0x1c,
    BMPString: 0x1e,
    SEQUENCE: 0x30,
    SET: 0x31,
} as const;

/** One DER element: `tag` is the identifier octet; `value` the contents; offsets are absolute in the input. */
export interface DerNode {
    tag: number;
    /** Offset of the identifier octet. */
    start: number;
    /** Offset of the first content octet. */
    valueStart: number;
    /** Offset just past the element. */
    end: number;
    value: Uint8Array;
    /** The whole element (identifier, length, contents). */
    raw: Uint8Array;
}

export class DerError extends DiagnosticError {
    override name = "DerError";
}

function fail(message: string, offset: number, field: string): never {
    throw new DerError("ASN1_ERROR_INVALID_ENCODING", message, { offset, field });
}

/** Reads one element of `buf` starting at `pos` (must lie within [pos, limit)). */
export function readElement(buf: Uint8Array, pos: number, limit: number, field: string, base = 0): DerNode {
    if (pos >= limit) fail("truncated: element expected", base + pos, field);
    const tag = buf[pos]!;
    if ((tag & 0x1f) === 0x1f) fail(`high tag number form (0x${tag.toString(16)}) not supported`, base + pos, field);
    if (pos + 1 >= limit) fail("truncated length", base + pos + 1, field);
    const l0 = buf[pos + 1]!;
    let len: number;
    let hdr = 2;
    if (l0 < 0x80) len = l0;
    else if (l0 === 0x80) fail("indefinite length (BER) is not DER", base + pos + 1, field);
    else {
        const n = l0 & 0x7f;
        if (n > 4) fail(`length of ${n} octets is too large`, base + pos + 1, field);
        if (pos + 2 + n > limit) fail("truncated length", base + pos + 1, field);
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + buf[pos + 2 + i]!;
        if (buf[pos + 2] === 0 || len < 0x80) fail("non-minimal length encoding is not DER", base + pos + 1, field);
        hdr = 2 + n;
    }
    const valueStart = pos + hdr;
    const end = valueStart + len;
    if (end > limit) fail(`length ${len} runs past the end of the enclosing data`, base + pos, field);
    return { tag, start: base + pos, valueStart: base + valueStart, end: base + end, value: buf.subarray(valueStart, end), raw: buf.subarray(pos, end) };
}

/** Parses exactly one element filling all of `buf`. */
export function parseDer(buf: Uint8Array, field = "DER", base = 0): DerNode {
    const node = readElement(buf, 0, buf.length, field, base);
    if (node.end - base !== buf.length) fail(`${buf.length - (node.end - base)} trailing bytes after the element`, node.end, field);
    return node;
}

/** Parses the contents of a constructed element into its children (all of them, no gaps). */
export function children(node: DerNode, field: string): DerNode[] {
    if ((node.tag & 0x20) === 0) fail(`expected a constructed element, got tag 0x${node.tag.toString(16)}`, node.start, field);
    const out: DerNode[] = [];
    let pos = 0;
    while (pos < node.value.length) {
        const c = readElement(node.value, pos, node.value.length, field, node.valueStart);
        out.push(c);
        pos = c.end - node.valueStart;
    }
    return out;
}

export function expectTag(node: DerNode | undefined, tag: number, field: string, near = 0): DerNode {
    if (node === undefined) fail(`missing (expected tag 0x${tag.toString(16)})`, near, field);
    if (node.tag !== tag) fail(`expected tag 0x${tag.toString(16)}, got 0x${node.tag.toString(16)}`, node.start, field);
    return node;
}

export function expectCount(nodes: DerNode[], min: number, max: number, field: string, at: number): void {
    if (nodes.length < min || nodes.length > max) {
        fail(`expected ${min === max ? min : `${min}..${max}`} elements, got ${nodes.length}`, at, field);
    }
}

/** Decodes an OBJECT IDENTIFIER to dotted form (strict: minimal sub-identifier encoding). */
export function decodeOid(node: DerNode, field: string): string {
    expectTag(node, TAG.OID, field);
    const v = node.value;
    if (v.length === 0) fail("empty OID", node.start, field);
    const parts: number[] = [];
    let acc = 0;
    let first = true;
    for (let i = 0; i < v.length; i++) {
        const b = v[i]!;
        if (acc === 0 && b === 0x80) fail("non-minimal OID sub-identifier", node.start, field);
        acc = acc * 128 + (b & 0x7f);
        if (acc > Number.MAX_SAFE_INTEGER / 256) fail("OID sub-identifier too large", node.start, field);
        if ((b & 0x80) === 0) {
            if (first) {
                const x = acc < 40 ? 0 : acc < 80 ? 1 : 2;
                parts.push(x, acc - 40 * x);
                first = false;
            } else parts.push(acc);
            acc = 0;
        } else if (i === v.length - 1) fail("truncated OID", node.start, field);
    }
    return parts.join(".");
}

/** Decodes a DER INTEGER to a bigint (strict minimal two's complement). */
export function decodeInteger(node: DerNode, field: string): bigint {
    expectTag(node, TAG.INTEGER, field);
    const v = node.value;
    if (v.length === 0) fail("empty INTEGER", node.start, field);
    if (v.length > 1 && ((v[0] === 0 && (v[1]! & 0x80) === 0) || (v[0] === 0xff && (v[1]! & 0x80) !== 0))) {
        fail("non-minimal INTEGER encoding", node.start, field);
    }
    let n = 0n;
    for (const b of v) n = (n << 8n) | BigInt(b);
    if (v[0]! & 0x80) n -= 1n << BigInt(8 * v.length);
    return n;
}

export function decodeBoolean(node: DerNode, field: string): boolean {
    expectTag(node, TAG.BOOLEAN, field);
    if (node.value.length !== 1 || (node.value[0] !== 0 && node.value[0] !== 0xff)) fail("BOOLEAN must be one octet 0x00 or 0xFF", node.start, field);
    return node.value[0] === 0xff;
}

/** BIT STRING → { unused, bytes }. */
export function decodeBitString(node: DerNode, field: string): { unused: number; bytes: Uint8Array } {
    expectTag(node, TAG.BIT_STRING, field);
    const v = node.value;
    if (v.length === 0) fail("empty BIT STRING", node.start, field);
    const unused = v[0]!;
    if (unused > 7 || (v.length === 1 && unused !== 0)) fail(`invalid unused-bits count ${unused}`, node.start, field);
    if (unused && (v[v.length - 1]! & ((1 << unused) - 1)) !== 0) fail("unused bits must be zero in DER", node.start, field);
    return { unused, bytes: v.subarray(1) };
}

/** Decodes a directory string value to text (UTF8, Printable, IA5, T61 as latin1, BMP, Universal). */
export function decodeString(node: DerNode, field: string): string {
    const v = node.value;
    switch (node.tag) {
        case TAG.UTF8String: {
            try {
                return new TextDecoder("utf-8", { fatal: true }).decode(v);
            } catch {
                fail("invalid UTF-8", node.start, field);
            }
        }
        // falls through (unreachable: fail() throws)
        case TAG.PrintableString:
        case TAG.IA5String:
            for (const b of v) if (b > 0x7f) fail("non-ASCII byte in an ASCII string", node.start, field);
            return String.fromCharCode(...v);
        case TAG.T61String:
            return String.fromCharCode(...v);
        case TAG.BMPString: {
            if (v.length % 2) fail("odd BMPString length", node.start, field);
            let s = "";
            for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
            return s;
        }
        case TAG.UniversalString: {
            if (v.length % 4) fail("UniversalString length not a multiple of 4", node.start, field);
            let s = "";
            for (let i = 0; i < v.length; i += 4) {
                const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
                if (cp > 0x10ffff) fail("invalid code point", node.start, field);
                s += String.fromCodePoint(cp);
            }
            return s;
        }
        default:
            fail(`not a string type (tag 0x${node.tag.toString(16)})`, node.start, field);
    }
}

/** UTCTime / GeneralizedTime in their DER forms (Z, seconds, no fractions) → Date. */
export function decodeTime(node: DerNode, field: string): Date {
    const s = String.fromCharCode(...node.value);
    let m: RegExpExecArray | null;
    let year: number;
    if (node.tag === TAG.UTCTime) {
        m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
        if (!m) fail(`UTCTime '${s}' is not YYMMDDHHMMSSZ`, node.start, field);
        const yy = Number(m[1]);
        year = yy >= 50 ? 1900 + yy : 2000 + yy;
    } else if (node.tag === TAG.GeneralizedTime) {
        m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
        if (!m) fail(`GeneralizedTime '${s}' is not YYYYMMDDHHMMSSZ`, node.start, field);
        year = Number(m[1]);
    } else fail(`expected UTCTime or GeneralizedTime, got tag 0x${node.tag.toString(16)}`, node.start, field);
    const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
    const t = Date.UTC(year, mo - 1, d, h, mi, se);
    const dt = new Date(t);
    if (dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) fail(`invalid date '${s}'`, node.start, field);
    if (year < 100) dt.setUTCFullYear(year);
    return dt;
}

// ---------------------------------------------------------------- writer

function lengthBytes(n: number): number[] {
    if (n < 0x80) return [n];
    const out: number[] = [];
    while (n > 0) {
        out.unshift(n & 0xff);
        n = Math.floor(n / 256);
    }
    return [0x80 | out.length, ...out];
}

/** Encodes one element: identifier + length + the concatenated contents. */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
    let len = 0;
    for (const c of contents) len += c.length;
    const hdr = lengthBytes(len);
    const out = new Uint8Array(1 + hdr.length + len);
    out[0] = tag;
    out.set(hdr, 1);
    let p = 1 + hdr.length;
    for (const c of contents) {
        out.set(c, p);
        p += c.length;
    }
    return out;
}

export const seq = (...c: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...c);
export const set = (...c: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...c);
export const octets = (b: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, b);
export const bitString = (b: Uint8Array, unused = 0): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(unused), b);
export const explicit = (n: number, ...c: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...c);
export const utf8 = (s: string): Uint8Array => tlv(TAG.UTF8String, new TextEncoder().encode(s));
export const boolean = (v: boolean): Uint8Array => tlv(TAG.BOOLEAN, Uint8Array.of(v ? 0xff : 0));

/** Encodes a non-negative or negative integer (minimal two's complement). */
export function integer(n: bigint | number | Uint8Array): Uint8Array {
    if (n instanceof Uint8Array) {
        // unsigned magnitude bytes
        let i = 0;
        while (i < n.length - 1 && n[i] === 0) i++;
        let b = n.subarray(i);
        if (b.length === 0) b = Uint8Array.of(0);
        if (b[0]! & 0x80) b = Uint8Array.of(0, ...b);
        return tlv(TAG.INTEGER, b);
    }
    let v = BigInt(n);
    const bytes: number[] = [];
    for (;;) {
        bytes.unshift(Number(v & 0xffn));
        const next = v >> 8n;
        const sign = (bytes[0]! & 0x80) !== 0;
        if ((next === 0n && !sign) || (next === -1n && sign)) break;
        v = next;
    }
    return tlv(TAG.INTEGER, Uint8Array.from(bytes));
}

export function oid(dotted: string): Uint8Array {
    const p = dotted.split(".").map(Number);
    const body: number[] = [];
    const push = (x: number) => {
        const tmp = [x & 0x7f];
        x = Math.floor(x / 128);
        while (x > 0) {
            tmp.unshift((x & 0x7f) | 0x80);
            x = Math.floor(x / 128);
        }
        body.push(...tmp);
    };
    push(p[0]! * 40 + p[1]!);
    for (const x of p.slice(2)) push(x);
    return tlv(TAG.OID, Uint8Array.from(body));
}

/** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5). */
export function time(d: Date): Uint8Array {
    const y = d.getUTCFullYear();
    const pad = (n: number, w = 2) => String(n).padStart(w, "0");
    const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
    if (y >= 1950 && y < 2050) return tlv(TAG.UTCTime, new TextEncoder().encode(pad(y % 100) + rest));
    return tlv(TAG.GeneralizedTime, new TextEncoder().encode(pad(y, 4) + rest));
}

/** The parts one after the other (the emulator's concatBytes under the name the DER builders use). */
export const concat = concatBytes;

export function hex(b: Uint8Array, sep = ""): string {
    return Array.from(b, x => x.toString(16).padStart(2, "0").toUpperCase()).join(sep);
}

/** A 16-bit id (vendor, product) the way Matter tools print it: 0xFFF2. */
export function hex16(n: number): string {
    return `0x${n.toString(16).toUpperCase().padStart(4, "0")}`;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
}
