/**
 * The optional TLV section of a QR payload (Matter Core spec 5.1.5): an anonymous structure of context-tagged
 * elements — 0 serial number (UTF-8 ≤ 32 bytes or unsigned int), 1 PBKDF iterations (1000..100000), 2 PBKDF salt
 * (16..32 bytes; iterations and salt together or not at all), 3 number of devices (1..255), 4 commissioning
 * timeout (uint16); 0x80..0xFF manufacturer-specific; 0x05..0x7F reserved (kept, as connectedhomeip is lenient
 * there for forward compatibility).
 *
 * A small strict Matter TLV reader/writer of its own (no I/O, no dependency): every truncation, bad control byte,
 * bad UTF-8, duplicate tag or trailing byte is an OnboardingError, never a RangeError.
 */
import { OnboardingError } from "./errors.js";

export type TlvTag =
    | { kind: "anonymous" }
    | { kind: "context"; id: number }
    | { kind: "profile"; vendorId: number | null; profileId: number | null; id: number };

export type TlvValue =
    | { type: "int"; value: bigint }
    | { type: "uint"; value: bigint }
    | { type: "bool"; value: boolean }
    | { type: "float"; value: number }
    | { type: "utf8"; value: string }
    | { type: "bytes"; value: Uint8Array }
    | { type: "null" }
    | { type: "structure" | "array" | "list"; elements: TlvElement[] };

export interface TlvElement {
    tag: TlvTag;
    value: TlvValue;
    /** Offset of the control byte inside the TLV section. */
    offset: number;
}

/** The decoded TLV section: typed known fields plus every element as read. */
export interface OnboardingExtension {
    /** Tag 0: UTF-8 text as is, or an unsigned integer as decimal text (see serialNumberType). */
    serialNumber?: string;
    serialNumberType?: "utf8" | "uint";
    pbkdfIterations?: number;
    pbkdfSalt?: Uint8Array;
    numberOfDevices?: number;
    commissioningTimeout?: number;
    /** Manufacturer-specific elements (tags 0x80..0xFF). */
    vendorElements: TlvElement[];
    /** Elements with reserved tags 0x05..0x7F. */
    reservedElements: TlvElement[];
    /** All top-level members in order. */
    elements: TlvElement[];
}

const MAX_DEPTH = 8;
const utf8 = new TextDecoder("utf-8", { fatal: true });

class Reader {
    pos = 0;
    constructor(
        readonly data: Uint8Array,
        readonly baseOffset: number,
    ) {}

    need(n: number, what: string): void {
        if (n > this.data.length - this.pos) {
            throw new OnboardingError("CHIP_ERROR_TLV_UNDERRUN", `TLV ends inside ${what}`, "tlv", this.baseOffset + this.pos);
        }
    }

    uint(n: number, what: string): bigint {
        this.need(n, what);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.data[this.pos + i]!);
        this.pos += n;
        return v;
    }
}

function readTag(r: Reader, tagControl: number): TlvTag {
    switch (tagControl) {
        case 0:
            return { kind: "anonymous" };
        case 1:
            return { kind: "context", id: Number(r.uint(1, "a context tag")) };
        case 2:
            return { kind: "profile", vendorId: 0, profileId: 0, id: Number(r.uint(2, "a common-profile tag")) };
        case 3:
            return { kind: "profile", vendorId: 0, profileId: 0, id: Number(r.uint(4, "a common-profile tag")) };
        case 4:
            return { kind: "profile", vendorId: null, profileId: null, id: Number(r.uint(2, "an implicit-profile tag")) };
        case 5:
            return { kind: "profile", vendorId: null, profileId: null, id: Number(r.uint(4, "an implicit-profile tag")) };
        default: {
            const vendorId = Number(r.uint(2, "a fully-qualified tag"));
            const profileId = Number(r.uint(2, "a fully-qualified tag"));
            const id = Number(r.uint(tagControl === 6 ? 2 : 4, "a fully-qualified tag"));
            return { kind: "profile", vendorId, profileId, id };
        }
    }
}

/** Reads one element; returns null for an end-of-container marker. */
function readElement(r: Reader, depth: number): TlvElement | null {
    const offset = r.pos;
    const control = Number(r.uint(1, "a control byte"));
    const type = control & 0x1f;
    const tagControl = control >> 5;
    if (type === 0x18) {
        if (tagControl !== 0) {
            throw new OnboardingError("CHIP_ERROR_INVALID_TLV_TAG", "end-of-container with a tag", "tlv", r.baseOffset + offset);
        }
        return null;
    }
    const tag = readTag(r, tagControl);
    const sizes = [1, 2, 4, 8];
    let value: TlvValue;
    if (type <= 0x03) {
        const n = sizes[type]!;
        value = { type: "int", value: BigInt.asIntN(n * 8, r.uint(n, "an integer")) };
    } else if (type <= 0x07) {
        value = { type: "uint", value: r.uint(sizes[type - 4]!, "an integer") };
    } else if (type <= 0x09) {
        value = { type: "bool", value: type === 0x09 };
    } else if (type === 0x0a || type === 0x0b) {
        const n = type === 0x0a ? 4 : 8;
        r.need(n, "a float");
        const view = new DataView(r.data.buffer, r.data.byteOffset + r.pos, n);
        value = { type: "float", value: n === 4 ? view.getFloat32(0, true) : view.getFloat64(0, true) };
        r.pos += n;
    } else if (type <= 0x13) {
        const isText = type <= 0x0f;
        const length = r.uint(sizes[(type - 0x0c) % 4]!, "a string length");
        if (length > BigInt(r.data.length - r.pos)) {
            throw new OnboardingError("CHIP_ERROR_TLV_UNDERRUN", `TLV string of ${length} bytes runs past the end`, "tlv", r.baseOffset + offset);
        }
        const bytes = r.data.slice(r.pos, r.pos + Number(length));
        r.pos += Number(length);
        if (isText) {
            let text: string;
            try {
                text = utf8.decode(bytes);
            } catch {
                throw new OnboardingError("CHIP_ERROR_INVALID_TLV_ELEMENT", "TLV UTF-8 string is not valid UTF-8", "tlv", r.baseOffset + offset);
            }
            value = { type: "utf8", value: text };
        } else {
            value = { type: "bytes", value: bytes };
        }
    } else if (type === 0x14) {
        value = { type: "null" };
    } else if (type <= 0x17) {
        if (depth >= MAX_DEPTH) {
            throw new OnboardingError("CHIP_ERROR_INVALID_TLV_ELEMENT", `TLV nested deeper than ${MAX_DEPTH}`, "tlv", r.baseOffset + offset);
        }
        const elements: TlvElement[] = [];
        for (;;) {
            const e = readElement(r, depth + 1);
            if (e === null) break;
            elements.push(e);
        }
        value = { type: type === 0x15 ? "structure" : type === 0x16 ? "array" : "list", elements };
    } else {
        throw new OnboardingError(
            "CHIP_ERROR_INVALID_TLV_ELEMENT",
            `invalid TLV element type 0x${type.toString(16)}`,
            "tlv",
            r.baseOffset + offset,
        );
    }
    return { tag, value, offset };
}

function bad(message: string, e: TlvElement, baseOffset: number, code: "CHIP_ERROR_INVALID_ARGUMENT" | "CHIP_ERROR_WRONG_TLV_TYPE" = "CHIP_ERROR_INVALID_ARGUMENT"): never {
    throw new OnboardingError(code, message, "tlv", baseOffset + e.offset);
}

function uintIn(e: TlvElement, min: number, max: number, name: string, baseOffset: number): number {
    if (e.value.type !== "uint") bad(`${name} must be an unsigned integer, got ${e.value.type}`, e, baseOffset, "CHIP_ERROR_WRONG_TLV_TYPE");
    const v = e.value.value;
    if (v < BigInt(min) || v > BigInt(max)) bad(`${name} ${v} is out of range ${min}..${max}`, e, baseOffset);
    return Number(v);
}

/**
 * Decodes the TLV section that follows the 88 bits of a QR payload. `baseOffset` is added to error offsets (the
 * byte position of the section inside the decoded payload bytes).
 */
export function decodeOnboardingTlv(data: Uint8Array, baseOffset = 0): OnboardingExtension {
    const r = new Reader(data, baseOffset);
    const root = readElement(r, 0);
    if (root === null || root.value.type !== "structure" || root.tag.kind !== "anonymous") {
        throw new OnboardingError(
            "CHIP_ERROR_INVALID_ARGUMENT",
            "the QR payload TLV section must be one anonymous structure",
            "tlv",
            baseOffset,
        );
    }
    if (r.pos !== data.length) {
        throw new OnboardingError("CHIP_ERROR_INVALID_TLV_ELEMENT", `${data.length - r.pos} trailing byte(s) after the TLV structure`, "tlv", baseOffset + r.pos);
    }
    const ext: OnboardingExtension = { vendorElements: [], reservedElements: [], elements: root.value.elements };
    const seen = new Set<number>();
    for (const e of root.value.elements) {
        if (e.tag.kind !== "context") {
            bad("QR payload TLV members must have context-specific tags", e, baseOffset);
        }
        const id = e.tag.id;
        if (seen.has(id)) bad(`duplicate TLV tag ${id}`, e, baseOffset);
        seen.add(id);
        switch (id) {
            case 0:
                if (e.value.type === "utf8") {
                    if (Buffer.byteLength(e.value.value, "utf8") > 32) bad("serial number longer than 32 bytes", e, baseOffset);
                    ext.serialNumber = e.value.value;
                    ext.serialNumberType = "utf8";
                } else if (e.value.type === "uint") {
                    ext.serialNumber = e.value.value.toString();
                    ext.serialNumberType = "uint";
                } else {
                    bad(`serial number must be a UTF-8 string or an unsigned integer, got ${e.value.type}`, e, baseOffset, "CHIP_ERROR_WRONG_TLV_TYPE");
                }
                break;
            case 1:
                ext.pbkdfIterations = uintIn(e, 1000, 100000, "PBKDF iterations", baseOffset);
                break;
            case 2:
                if (e.value.type !== "bytes") bad(`PBKDF salt must be a byte string, got ${e.value.type}`, e, baseOffset, "CHIP_ERROR_WRONG_TLV_TYPE");
                if (e.value.value.length < 16 || e.value.value.length > 32) bad(`PBKDF salt of ${e.value.value.length} bytes (16..32)`, e, baseOffset);
                ext.pbkdfSalt = e.value.value;
                break;
            case 3:
                ext.numberOfDevices = uintIn(e, 1, 255, "number of devices", baseOffset);
                break;
            case 4:
                ext.commissioningTimeout = uintIn(e, 0, 0xffff, "commissioning timeout", baseOffset);
                break;
            default:
                (id >= 0x80 ? ext.vendorElements : ext.reservedElements).push(e);
        }
    }
    if ((ext.pbkdfIterations === undefined) !== (ext.pbkdfSalt === undefined)) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", "PBKDF iterations and salt must be present together", "tlv", baseOffset);
    }
    return ext;
}

/** Fields for {@link encodeOnboardingTlv}. */
export interface OnboardingExtensionInput {
    serialNumber?: string | number | bigint;
    pbkdfIterations?: number;
    pbkdfSalt?: Uint8Array;
    numberOfDevices?: number;
    commissioningTimeout?: number;
    /** Manufacturer-specific elements, tags 0x80..0xFF. */
    vendor?: Array<{ tag: number; value: string | number | bigint | Uint8Array }>;
}

function encodeValue(tag: number, value: string | number | bigint | Uint8Array, out: number[]): void {
    const ctx = 1 << 5;
    if (typeof value === "string" || value instanceof Uint8Array) {
        const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
        const base = typeof value === "string" ? 0x0c : 0x10;
        const lenSize = bytes.length < 0x100 ? 0 : bytes.length < 0x10000 ? 1 : 2;
        out.push(ctx | (base + lenSize), tag);
        for (let i = 0; i < [1, 2, 4][lenSize]!; i++) out.push((bytes.length >>> (8 * i)) & 0xff);
        for (const b of bytes) out.push(b);
        return;
    }
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
        throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `TLV value ${value} is not an integer`, "tlv");
    }
    const v = BigInt(value);
    if (v < 0n || v >= 1n << 64n) throw new OnboardingError("CHIP_ERROR_INVALID_ARGUMENT", `TLV value ${v} is not an unsigned 64-bit integer`, "tlv");
    const size = v < 0x100n ? 0 : v < 0x10000n ? 1 : v < 0x100000000n ? 2 : 3;
    out.push(ctx | (0x04 + size), tag);
    for (let i = 0; i < [1, 2, 4, 8][size]!; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
}

/** Encodes the TLV section (unsigned integers in their smallest width, like connectedhomeip's TLVWriter). */
export function encodeOnboardingTlv(input: OnboardingExtensionInput): Uint8Array {
    const out: number[] = [0x15];
    if (input.serialNumber !== undefined) encodeValue(0, input.serialNumber, out);
    if (input.pbkdfIterations !== undefined) encodeValue(1, input.pbkdfIterations, out);
    if (input.pbkdfSalt !== undefined) encodeValue(2, input.pbkdfSalt, out);
    if (input.numberOfDevices !== undefined) encodeValue(3, input.numberOfDevices, out);
    if (input.commissioningTimeout !== undefined) encodeValue(4, input.commissioningTimeout, out);
    for (const { tag, value } of input.vendor ?? []) {
        if (!Number.isInteger(tag) || tag < 0x80 || tag > 0xff) {
            throw new OnboardingError("CHIP_ERROR_INVALID_TLV_TAG", `manufacturer-specific tag ${tag} must be in 0x80..0xFF`, "tlv");
        }
        encodeValue(tag, value, out);
    }
    out.push(0x18);
    const bytes = Uint8Array.from(out);
    decodeOnboardingTlv(bytes); // the same rules as a reader applies (ranges, both-or-neither, duplicates)
    return bytes;
}
