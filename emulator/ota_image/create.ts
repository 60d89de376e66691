/**
 * `ota_image_tool.py create`: validation with the tool's refusals and the header encoding.
 *
 * Fields are written in tag order with the smallest unsigned integer and length widths: exactly what
 * ota_image_tool.py's TLVWriter writes (it sorts a plain dict by tag) — checked byte-for-byte against
 * ../shared/vectors/ota — and exactly what matter.js's `TlvOtaImageHeader.encode` writes (the tests compare
 * against it for arbitrary headers). matter.js is not imported at run time: loading @matter/main/protocol
 * costs ≈1 s (≈3 s under tsx) for a 60-byte header. matter.js's OtaImageWriter is not used either: it refuses
 * nothing (VID 0, min >= version, ...), needs a Crypto environment and knows only sha256/384/512 and sha3-256.
 */
import { DiagnosticError } from "../esp_common/err.js";
import { computeDigest, CREATABLE_DIGESTS, digestByName } from "./digest.js";
import { TlvStructWriter } from "./tlv.js";
import { OTA_FILE_IDENTIFIER, OTA_FIXED_HEADER_SIZE, OTA_MAX_RELEASE_NOTES_URL, OTA_MAX_VERSION_STRING, type OtaImageHeader } from "./image.js";

export interface OtaCreateOptions {
    vendorId: number;
    productId: number;
    softwareVersion: number;
    softwareVersionString: string;
    /** ota_image_tool name: sha256, sha384, sha512, sha3_224, sha3_256, sha3_384, sha3_512 (sha3-256 also accepted). */
    digestAlgorithm: string;
    minApplicableVersion?: number;
    maxApplicableVersion?: number;
    releaseNotesUrl?: string;
}

export interface OtaCreateResult {
    image: Uint8Array;
    header: OtaImageHeader;
    /** Size of the TLV header (the HeaderSize field). */
    headerSize: number;
    totalSize: number;
    /** ota_image_tool's warnings (non-https release notes URL, digest below 256 bits). */
    warnings: string[];
}

function invalid(field: string, message: string): DiagnosticError {
    return new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", message, { field });
}

function isUInt(n: unknown, max: number): n is number {
    return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 && n <= max;
}

/**
 * ota_image_tool.py validate_header_attributes(), in its order, plus the ranges the tool forgets (it would
 * write a 64-bit SoftwareVersion or a 70-byte UTF-8 version string that every device then refuses).
 * Throws DiagnosticError(CHIP_ERROR_INVALID_ARGUMENT); returns the tool's warnings.
 */
export function validateOtaCreateOptions(o: OtaCreateOptions): string[] {
    const warnings: string[] = [];
    if (!isUInt(o.vendorId, 0xffff)) throw invalid("vendor-id", `Vendor ID must be 1..0xFFFF, got ${o.vendorId}`);
    if (!isUInt(o.productId, 0xffff)) throw invalid("product-id", `Product ID must be 1..0xFFFF, got ${o.productId}`);
    if (!isUInt(o.softwareVersion, 0xffffffff)) {
        throw invalid("version", `Software version must be 0..0xFFFFFFFF (uint32), got ${o.softwareVersion}`);
    }
    if (o.vendorId === 0) throw invalid("vendor-id", "Vendor ID is zero");
    if (o.productId === 0) throw invalid("product-id", "Product ID is zero");
    const chars = [...o.softwareVersionString].length;
    if (chars < 1 || chars > OTA_MAX_VERSION_STRING) {
        throw invalid("version-str", `Software version string is not of length 1-64 (got ${chars})`);
    }
    const vsBytes = Buffer.byteLength(o.softwareVersionString, "utf8");
    if (vsBytes > OTA_MAX_VERSION_STRING) {
        throw invalid("version-str", `Software version string is ${vsBytes} bytes in UTF-8; devices accept at most 64`);
    }
    const { minApplicableVersion: min, maxApplicableVersion: max } = o;
    if (min !== undefined && !isUInt(min, 0xffffffff)) throw invalid("min-version", `Minimum applicable version must be a uint32, got ${min}`);
    if (max !== undefined && !isUInt(max, 0xffffffff)) throw invalid("max-version", `Maximum applicable version must be a uint32, got ${max}`);
    if (min !== undefined && min >= o.softwareVersion) {
        throw invalid("min-version", `Minimum applicable version is greater or equal to software version (${min} >= ${o.softwareVersion})`);
    }
    if (max !== undefined && max >= o.softwareVersion) {
        throw invalid("max-version", `Maximum applicable version is greater or equal to software version (${max} >= ${o.softwareVersion})`);
    }
    if (min !== undefined && max !== undefined && max < min) {
        throw invalid("min-version", `Minimum applicable version is greater than maximum applicable version (${min} > ${max})`);
    }
    if (o.releaseNotesUrl !== undefined) {
        const len = [...o.releaseNotesUrl].length;
        if (len < 1 || len > OTA_MAX_RELEASE_NOTES_URL) {
            throw invalid("release-notes", `Release notes URL must be of length 1-256 (got ${len})`);
        }
        const bytes = Buffer.byteLength(o.releaseNotesUrl, "utf8");
        if (bytes > OTA_MAX_RELEASE_NOTES_URL) {
            throw invalid("release-notes", `Release notes URL is ${bytes} bytes in UTF-8; devices accept at most 256`);
        }
        if (!o.releaseNotesUrl.startsWith("https://")) warnings.push('Release notes URL does not start with "https://"');
    }
    const alg = digestByName(o.digestAlgorithm);
    if (alg === undefined || !alg.creatable) {
        throw invalid("digest-algorithm", `digest algorithm must be one of ${CREATABLE_DIGESTS.join(", ")}, got '${o.digestAlgorithm}'`);
    }
    if (alg.size < 32) warnings.push("Using digest length below 256 bits is not recommended");
    return warnings;
}

/** The TLV header alone (HeaderSize bytes). */
export function encodeOtaHeaderTlv(h: OtaImageHeader): Uint8Array {
    const ranges: Array<[string, number | undefined, number]> = [
        ["VendorID", h.vendorId, 0xffff],
        ["ProductID", h.productId, 0xffff],
        ["SoftwareVersion", h.softwareVersion, 0xffffffff],
        ["PayloadSize", h.payloadSize, Number.MAX_SAFE_INTEGER],
        ["MinApplicableSoftwareVersion", h.minApplicableVersion, 0xffffffff],
        ["MaxApplicableSoftwareVersion", h.maxApplicableVersion, 0xffffffff],
        ["ImageDigestType", h.digestType, 0xffffffff],
    ];
    for (const [field, v, max] of ranges) {
        if (v !== undefined && !isUInt(v, max)) throw invalid(field, `${field} must be an integer in 0..${max}, got ${v}`);
    }
    const w = new TlvStructWriter()
        .uint(0, h.vendorId)
        .uint(1, h.productId)
        .uint(2, h.softwareVersion)
        .utf8(3, h.softwareVersionString)
        .uint(4, h.payloadSize);
    if (h.minApplicableVersion !== undefined) w.uint(5, h.minApplicableVersion);
    if (h.maxApplicableVersion !== undefined) w.uint(6, h.maxApplicableVersion);
    if (h.releaseNotesUrl !== undefined) w.utf8(7, h.releaseNotesUrl);
    return w.uint(8, h.digestType).bytes(9, h.digest).finish();
}

/** The 16-byte fixed header followed by the TLV header: everything before the payload. */
export function encodeOtaHeader(h: OtaImageHeader): Uint8Array {
    const tlv = encodeOtaHeaderTlv(h);
    const out = new Uint8Array(OTA_FIXED_HEADER_SIZE + tlv.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, OTA_FILE_IDENTIFIER, true);
    view.setBigUint64(4, BigInt(OTA_FIXED_HEADER_SIZE + tlv.length + h.payloadSize), true);
    view.setUint32(12, tlv.length, true);
    out.set(tlv, OTA_FIXED_HEADER_SIZE);
    return out;
}

/**
 * `ota_image_tool.py create`: validates like the tool (DiagnosticError on refusal), digests the payload (the
 * concatenation of `payload` chunks, like the tool's several input files) and returns the whole file.
 */
export function createOtaImage(o: OtaCreateOptions, payload: Uint8Array | readonly Uint8Array[]): OtaCreateResult {
    const warnings = validateOtaCreateOptions(o);
    const alg = digestByName(o.digestAlgorithm)!;
    const chunks = payload instanceof Uint8Array ? [payload] : payload;
    const payloadSize = chunks.reduce((n, c) => n + c.length, 0);
    const header: OtaImageHeader = {
        vendorId: o.vendorId,
        productId: o.productId,
        softwareVersion: o.softwareVersion,
        softwareVersionString: o.softwareVersionString,
        payloadSize,
        ...(o.minApplicableVersion !== undefined ? { minApplicableVersion: o.minApplicableVersion } : {}),
        ...(o.maxApplicableVersion !== undefined ? { maxApplicableVersion: o.maxApplicableVersion } : {}),
        ...(o.releaseNotesUrl !== undefined ? { releaseNotesUrl: o.releaseNotesUrl } : {}),
        digestType: alg.id,
        digest: computeDigest(alg, chunks),
    };
    const head = encodeOtaHeader(header);
    const image = new Uint8Array(head.length + payloadSize);
    image.set(head, 0);
    let p = head.length;
    for (const c of chunks) {
        image.set(c, p);
        p += c.length;
    }
    return { image, header, headerSize: head.length - OTA_FIXED_HEADER_SIZE, totalSize: image.length, warnings };
}

