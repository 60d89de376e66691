/**
 * The Matter OTA image file (Matter Core §11.21.2, connectedhomeip src/app/ota_image_tool.py and
 * src/lib/core/OTAImageHeader.cpp):
 *
 *   u32 LE FileIdentifier 0x1BEEF11E | u64 LE TotalSize | u32 LE HeaderSize | Header (TLV) | Payload
 *
 * The header is an anonymous TLV structure with context tags 0 VendorID, 1 ProductID, 2 SoftwareVersion,
 * 3 SoftwareVersionString, 4 PayloadSize, 5 MinApplicableSoftwareVersion?, 6 MaxApplicableSoftwareVersion?,
 * 7 ReleaseNotesURL?, 8 ImageDigestType, 9 ImageDigest.
 *
 * Encoding is in create.ts (byte-identical to ota_image_tool.py and to matter.js's TlvOtaImageHeader).
 * Decoding is our own strict walk mirroring
 * connectedhomeip's OTAImageHeaderParser::DecodeTlv (field order, kMaxHeaderSize 1024, string limits), because
 * matter.js's TLV decoder gives no byte offsets and accepts fields in any order.
 */
import { DiagnosticError } from "../esp_common/err.js";
import { computeDigest, digestById, type DigestAlgorithm } from "./digest.js";
import { readTlvElement, skipTlvElement, type TlvElement } from "./tlv.js";

export const OTA_FILE_IDENTIFIER = 0x1beef11e;
export const OTA_FIXED_HEADER_SIZE = 16;
/** connectedhomeip OTAImageHeaderParser: kMaxHeaderSize (a device refuses larger headers with CHIP_ERROR_NO_MEMORY). */
export const OTA_MAX_HEADER_SIZE = 1024;
export const OTA_MAX_VERSION_STRING = 64;
export const OTA_MAX_RELEASE_NOTES_URL = 256;

export interface OtaImageHeader {
    vendorId: number;
    productId: number;
    softwareVersion: number;
    softwareVersionString: string;
    payloadSize: number;
    minApplicableVersion?: number;
    maxApplicableVersion?: number;
    releaseNotesUrl?: string;
    /** ImageDigestType (1 sha256, 7 sha384, 8 sha512, 9–12 sha3-224/256/384/512). */
    digestType: number;
    digest: Uint8Array;
}

export interface DecodedOtaHeader {
    header: OtaImageHeader;
    /** HeaderSize field: length of the TLV header. */
    headerSize: number;
    /** TotalSize field. */
    totalSize: number;
    /** Offset of the payload in the file (16 + headerSize). */
    payloadOffset: number;
    /** Tags in file order (for `ota show`, which prints them as ota_image_tool does). */
    tags: number[];
}

export interface DecodedOtaImage extends DecodedOtaHeader {
    payload: Uint8Array;
    /** The digest algorithm, or undefined when ImageDigestType is not one we know. */
    digestAlgorithm?: DigestAlgorithm;
    /** Digest over the payload equals ImageDigest (false also for an unknown digest type). */
    digestOk: boolean;
    computedDigest?: Uint8Array;
}


/** Bytes needed to hold the whole header (16 + HeaderSize), or undefined while fewer than 16 bytes are known. */
export function otaHeaderLength(bytes: Uint8Array): number | undefined {
    if (bytes.length < OTA_FIXED_HEADER_SIZE) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, OTA_FIXED_HEADER_SIZE);
    return OTA_FIXED_HEADER_SIZE + view.getUint32(12, true);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

class HeaderWalker {
    pos: number;
    current!: TlvElement;

    constructor(
        readonly buf: Uint8Array,
        readonly limit: number,
    ) {
        this.pos = OTA_FIXED_HEADER_SIZE;
    }

    next(): TlvElement {
        this.current = readTlvElement(this.buf, this.pos, this.limit);
        this.pos = this.current.kind === "struct" || this.current.kind === "array" || this.current.kind === "list"
            ? skipTlvElement(this.buf, this.current.offset, this.limit)
            : this.current.next;
        return this.current;
    }

    isContext(tag: number): boolean {
        return this.current.tagForm === "context" && this.current.tag === tag;
    }

    expect(tag: number, field: string): void {
        if (!this.isContext(tag)) {
            const got = this.current.kind === "end" ? "end of structure" : this.current.tagForm === "context" ? `context tag ${this.current.tag}` : `${this.current.tagForm} tag`;
            throw new DiagnosticError("CHIP_ERROR_UNEXPECTED_TLV_ELEMENT", `expected ${field} (context tag ${tag}), got ${got}`, {
                offset: this.current.offset,
                field,
            });
        }
    }

    uint(field: string, max: bigint): bigint {
        const el = this.current;
        if (el.kind !== "uint") {
            throw new DiagnosticError("CHIP_ERROR_WRONG_TLV_TYPE", `${field} must be an unsigned integer, got ${el.kind}`, { offset: el.offset, field });
        }
        const v = el.value as bigint;
        if (v > max) {
            throw new DiagnosticError("CHIP_ERROR_INVALID_INTEGER_VALUE", `${field} ${v} does not fit in ${max === 0xffffn ? "uint16" : max === 0xffffffffn ? "uint32" : "uint64"}`, {
                offset: el.offset,
                field,
            });
        }
        return v;
    }

    string(field: string, maxBytes: number): string {
        const el = this.current;
        if (el.kind !== "utf8") {
            throw new DiagnosticError("CHIP_ERROR_WRONG_TLV_TYPE", `${field} must be a UTF-8 string, got ${el.kind}`, { offset: el.offset, field });
        }
        const raw = el.value as Uint8Array;
        if (raw.length > maxBytes) {
            throw new DiagnosticError("CHIP_ERROR_INVALID_STRING_LENGTH", `${field} is ${raw.length} bytes, at most ${maxBytes} allowed`, { offset: el.offset, field });
        }
        try {
            return utf8.decode(raw);
        } catch {
            throw new DiagnosticError("CHIP_ERROR_INVALID_UTF8", `${field} is not valid UTF-8`, { offset: el.offset, field });
        }
    }

    bytes(field: string): Uint8Array {
        const el = this.current;
        if (el.kind !== "bytes") {
            throw new DiagnosticError("CHIP_ERROR_WRONG_TLV_TYPE", `${field} must be a byte string, got ${el.kind}`, { offset: el.offset, field });
        }
        return new Uint8Array(el.value as Uint8Array);
    }
}

/**
 * Decodes the fixed header and the TLV header (needs only the first 16 + HeaderSize bytes). Mirrors
 * OTAImageHeaderParser: fields in order, optional 5/6/7, anything after ImageDigest up to the end of the
 * structure is skipped. Throws DiagnosticError with the CHIP_ERROR name and the file offset.
 */
export function decodeOtaHeader(bytes: Uint8Array): DecodedOtaHeader {
    if (bytes.length < OTA_FIXED_HEADER_SIZE) {
        throw new DiagnosticError("CHIP_ERROR_BUFFER_TOO_SMALL", `file is ${bytes.length} bytes, shorter than the 16-byte fixed OTA header`, { offset: 0 });
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, OTA_FIXED_HEADER_SIZE);
    const ident = view.getUint32(0, true);
    if (ident !== OTA_FILE_IDENTIFIER) {
        throw new DiagnosticError("CHIP_ERROR_INVALID_FILE_IDENTIFIER", `file identifier 0x${ident.toString(16).padStart(8, "0")} is not 0x1beef11e: not a Matter OTA image`, { offset: 0 });
    }
    const totalSizeBig = view.getBigUint64(4, true);
    const headerSize = view.getUint32(12, true);
    if (headerSize > OTA_MAX_HEADER_SIZE) {
        throw new DiagnosticError("CHIP_ERROR_NO_MEMORY", `header size ${headerSize} exceeds kMaxHeaderSize ${OTA_MAX_HEADER_SIZE}: devices refuse it`, { offset: 12, field: "HeaderSize" });
    }
    const limit = OTA_FIXED_HEADER_SIZE + headerSize;
    if (bytes.length < limit) {
        throw new DiagnosticError("CHIP_ERROR_BUFFER_TOO_SMALL", `file is ${bytes.length} bytes, header needs ${limit}`, { offset: bytes.length });
    }

    const w = new HeaderWalker(bytes, limit);
    const top = w.next();
    if (top.kind !== "struct" || top.tagForm !== "anonymous") {
        throw new DiagnosticError("CHIP_ERROR_WRONG_TLV_TYPE", `header must be an anonymous TLV structure, got ${top.tagForm} ${top.kind}`, { offset: top.offset });
    }
    w.pos = top.next; // enter the structure
    const tags: number[] = [];
    const field = (tag: number, name: string) => {
        w.next();
        w.expect(tag, name);
        tags.push(tag);
    };
    field(0, "VendorID");
    const vendorId = Number(w.uint("VendorID", 0xffffn));
    field(1, "ProductID");
    const productId = Number(w.uint("ProductID", 0xffffn));
    field(2, "SoftwareVersion");
    const softwareVersion = Number(w.uint("SoftwareVersion", 0xffffffffn));
    field(3, "SoftwareVersionString");
    const softwareVersionString = w.string("SoftwareVersionString", OTA_MAX_VERSION_STRING);
    field(4, "PayloadSize");
    const payloadSizeBig = w.uint("PayloadSize", 0xffffffffffffffffn);
    const header: Partial<OtaImageHeader> = { vendorId, productId, softwareVersion, softwareVersionString };
    w.next();
    if (w.isContext(5)) {
        tags.push(5);
        header.minApplicableVersion = Number(w.uint("MinApplicableSoftwareVersion", 0xffffffffn));
        w.next();
    }
    if (w.isContext(6)) {
        tags.push(6);
        header.maxApplicableVersion = Number(w.uint("MaxApplicableSoftwareVersion", 0xffffffffn));
        w.next();
    }
    if (w.isContext(7)) {
        tags.push(7);
        header.releaseNotesUrl = w.string("ReleaseNotesURL", OTA_MAX_RELEASE_NOTES_URL);
        w.next();
    }
    w.expect(8, "ImageDigestType");
    tags.push(8);
    header.digestType = Number(w.uint("ImageDigestType", 0xffffffffn));
    field(9, "ImageDigest");
    header.digest = w.bytes("ImageDigest");
    // ExitContainer: skip whatever follows up to the end of the structure
    for (;;) {
        const el = w.next();
        if (el.kind === "end") break;
    }
    const payloadOffset = limit;
    if (payloadSizeBig > BigInt(Number.MAX_SAFE_INTEGER) || totalSizeBig > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new DiagnosticError("OTA_SIZE_MISMATCH", `payload size ${payloadSizeBig} / total size ${totalSizeBig} is larger than any image`, { offset: 4 });
    }
    header.payloadSize = Number(payloadSizeBig);
    return { header: header as OtaImageHeader, headerSize, totalSize: Number(totalSizeBig), payloadOffset, tags };
}

/**
 * Decodes a whole OTA file: header as decodeOtaHeader, then the sizes (TotalSize = 16 + HeaderSize + PayloadSize
 * = file length) and the digest over the payload (reported as digestOk, not thrown).
 * OTA_SIZE_MISMATCH is mfgsim's own code: connectedhomeip's OTAImageHeaderParser reads TotalSize but never checks
 * it, and neither its ESP32 OTAImageProcessorImpl nor ESP-IDF's esp_ota_* compare the sizes (ota_image_tool.py
 * and this decoder do).
 */
export function decodeOtaImage(bytes: Uint8Array): DecodedOtaImage {
    const h = decodeOtaHeader(bytes);
    const expectedTotal = h.payloadOffset + h.header.payloadSize;
    if (h.totalSize !== expectedTotal) {
        throw new DiagnosticError("OTA_SIZE_MISMATCH", `TotalSize field is ${h.totalSize} but 16 + HeaderSize ${h.headerSize} + PayloadSize ${h.header.payloadSize} = ${expectedTotal}`, {
            offset: 4,
            field: "TotalSize",
        });
    }
    if (bytes.length < expectedTotal) {
        throw new DiagnosticError("CHIP_ERROR_BUFFER_TOO_SMALL", `file truncated: ${bytes.length} of ${expectedTotal} bytes (payload ${bytes.length - h.payloadOffset} of ${h.header.payloadSize})`, {
            offset: bytes.length,
        });
    }
    if (bytes.length > expectedTotal) {
        throw new DiagnosticError("OTA_SIZE_MISMATCH", `${bytes.length - expectedTotal} bytes after the payload (file ${bytes.length}, TotalSize ${expectedTotal})`, {
            offset: expectedTotal,
        });
    }
    const payload = bytes.subarray(h.payloadOffset, expectedTotal);
    const digestAlgorithm = digestById(h.header.digestType);
    if (digestAlgorithm === undefined) return { ...h, payload, digestOk: false };
    const computedDigest = computeDigest(digestAlgorithm, payload);
    const digestOk = Buffer.from(computedDigest).equals(Buffer.from(h.header.digest));
    return { ...h, payload, digestAlgorithm, digestOk, computedDigest };
}
