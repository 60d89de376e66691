/**
 * What an OTA Requestor checks on a downloaded Matter OTA image, incrementally as BDX blocks arrive
 * (connectedhomeip OTAImageProcessor + DefaultOTARequestor, matter.js OtaImageReader): the file identifier and
 * header, VendorID/ProductID equal to the running device's, SoftwareVersion greater than the running one, the
 * running version inside [MinApplicable, MaxApplicable], the sizes and the digest over the payload.
 *
 * Each failure is a named reason, so the requestor and the reports can say exactly why an image was refused.
 */
import { DiagnosticError } from "../esp_common/err.js";
import { digestById, PayloadDigest } from "./digest.js";
import { decodeOtaHeader, otaHeaderLength, OTA_FIXED_HEADER_SIZE, type DecodedOtaHeader, type OtaImageHeader } from "./image.js";

export type OtaRejectReason =
    | "InvalidHeader" // identifier, header TLV or header size (code carries the CHIP_ERROR name)
    | "Truncated"
    | "SizeMismatch"
    | "VendorIdMismatch"
    | "ProductIdMismatch"
    | "NotNewer"
    | "BelowMinApplicable"
    | "AboveMaxApplicable"
    | "UnsupportedDigestType"
    | "DigestMismatch";

export interface OtaRejection {
    reason: OtaRejectReason;
    /** CHIP_ERROR_* name for header problems, else the reason. */
    code: string;
    message: string;
}

export interface OtaExpectations {
    vendorId?: number;
    productId?: number;
    /** The running SoftwareVersion: the image must be newer and the running version within min/max applicable. */
    currentVersion?: number;
}

export interface OtaVerifyResult {
    ok: boolean;
    header?: OtaImageHeader;
    headerSize?: number;
    totalSize?: number;
    /** null while/when the digest could not be computed (bad header, unknown type, truncated). */
    digestOk: boolean | null;
    bytesSeen: number;
    rejections: OtaRejection[];
}

/** Header-level checks (no payload needed): what a requestor can decide as soon as the header is in. */
export function checkOtaHeader(header: OtaImageHeader, expect: OtaExpectations): OtaRejection[] {
    const r: OtaRejection[] = [];
    const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(4, "0")}`;
    if (expect.vendorId !== undefined && header.vendorId !== expect.vendorId) {
        r.push({ reason: "VendorIdMismatch", code: "VendorIdMismatch", message: `image VendorID ${hex(header.vendorId)} is not the device's ${hex(expect.vendorId)}` });
    }
    if (expect.productId !== undefined && header.productId !== expect.productId) {
        r.push({ reason: "ProductIdMismatch", code: "ProductIdMismatch", message: `image ProductID ${hex(header.productId)} is not the device's ${hex(expect.productId)}` });
    }
    const cur = expect.currentVersion;
    if (cur !== undefined) {
        if (header.softwareVersion <= cur) {
            r.push({ reason: "NotNewer", code: "NotNewer", message: `image SoftwareVersion ${header.softwareVersion} is not newer than the running ${cur}` });
        }
        if (header.minApplicableVersion !== undefined && cur < header.minApplicableVersion) {
            r.push({ reason: "BelowMinApplicable", code: "BelowMinApplicable", message: `running version ${cur} is below MinApplicableSoftwareVersion ${header.minApplicableVersion}` });
        }
        if (header.maxApplicableVersion !== undefined && cur > header.maxApplicableVersion) {
            r.push({ reason: "AboveMaxApplicable", code: "AboveMaxApplicable", message: `running version ${cur} is above MaxApplicableSoftwareVersion ${header.maxApplicableVersion}` });
        }
    }
    if (digestById(header.digestType) === undefined) {
        r.push({ reason: "UnsupportedDigestType", code: "UnsupportedDigestType", message: `ImageDigestType ${header.digestType} is not a known digest algorithm` });
    }
    return r;
}

/**
 * Incremental verifier: feed the file as it arrives with `update(chunk)`; after the header is complete,
 * `header` and `headerRejections` are available (a requestor aborts the transfer there), and `finish()` gives
 * the verdict. Memory: the header (≤ 16 + 1024 bytes) plus the running digest; the payload is not kept.
 */
export class OtaImageVerifier {
    readonly #expect: OtaExpectations;
    #head = new Uint8Array(0);
    #decoded?: DecodedOtaHeader;
    #headerError?: OtaRejection;
    #digest?: PayloadDigest;
    #payloadSeen = 0;
    #bytesSeen = 0;
    #headerRejections: OtaRejection[] = [];

    constructor(expect: OtaExpectations = {}) {
        this.#expect = expect;
    }

    get header(): OtaImageHeader | undefined {
        return this.#decoded?.header;
    }

    /** Rejections known from the header alone (empty before the header is complete). */
    get headerRejections(): readonly OtaRejection[] {
        return this.#headerError ? [this.#headerError] : this.#headerRejections;
    }

    update(chunk: Uint8Array): this {
        this.#bytesSeen += chunk.length;
        if (this.#headerError) return this;
        if (this.#decoded === undefined) {
            const need = this.#headerNeed(chunk);
            if (need === undefined) return this;
            chunk = need;
        }
        if (chunk.length > 0) {
            this.#payloadSeen += chunk.length;
            this.#digest?.update(chunk);
        }
        return this;
    }

    /** Accumulates header bytes; returns the rest of `chunk` once the header is decoded, else undefined. */
    #headerNeed(chunk: Uint8Array): Uint8Array | undefined {
        const joined = new Uint8Array(this.#head.length + chunk.length);
        joined.set(this.#head, 0);
        joined.set(chunk, this.#head.length);
        let total = otaHeaderLength(joined);
        if (total === undefined) {
            this.#head = joined;
            return undefined;
        }
        // a header size over the limit is refused by decodeOtaHeader as soon as the fixed header is in
        if (total > OTA_FIXED_HEADER_SIZE + 1024) total = OTA_FIXED_HEADER_SIZE;
        if (joined.length < total && total > OTA_FIXED_HEADER_SIZE) {
            this.#head = joined;
            return undefined;
        }
        try {
            this.#decoded = decodeOtaHeader(joined.subarray(0, Math.max(total, OTA_FIXED_HEADER_SIZE)));
        } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
            this.#headerError = { reason: "InvalidHeader", code: e.code, message: e.oneLine() };
            this.#head = new Uint8Array(0);
            return undefined;
        }
        this.#head = new Uint8Array(0);
        this.#headerRejections = checkOtaHeader(this.#decoded.header, this.#expect);
        const alg = digestById(this.#decoded.header.digestType);
        if (alg) this.#digest = new PayloadDigest(alg);
        return joined.subarray(this.#decoded.payloadOffset);
    }

    finish(): OtaVerifyResult {
        const base = { bytesSeen: this.#bytesSeen };
        if (this.#headerError) return { ...base, ok: false, digestOk: null, rejections: [this.#headerError] };
        const d = this.#decoded;
        if (d === undefined) {
            return {
                ...base,
                ok: false,
                digestOk: null,
                rejections: [{ reason: "Truncated", code: "CHIP_ERROR_BUFFER_TOO_SMALL", message: `image ended after ${this.#bytesSeen} bytes, inside the header` }],
            };
        }
        const rejections = [...this.#headerRejections];
        const { header } = d;
        let digestOk: boolean | null = null;
        const expectedTotal = d.payloadOffset + header.payloadSize;
        if (d.totalSize !== expectedTotal) {
            rejections.push({ reason: "SizeMismatch", code: "OTA_SIZE_MISMATCH", message: `TotalSize ${d.totalSize} ≠ 16 + HeaderSize ${d.headerSize} + PayloadSize ${header.payloadSize}` });
        }
        if (this.#payloadSeen < header.payloadSize) {
            rejections.push({ reason: "Truncated", code: "CHIP_ERROR_BUFFER_TOO_SMALL", message: `payload ended after ${this.#payloadSeen} of ${header.payloadSize} bytes` });
        } else if (this.#payloadSeen > header.payloadSize) {
            rejections.push({ reason: "SizeMismatch", code: "OTA_SIZE_MISMATCH", message: `${this.#payloadSeen - header.payloadSize} bytes after the payload` });
        } else if (this.#digest) {
            digestOk = Buffer.from(this.#digest.digest()).equals(Buffer.from(header.digest));
            if (!digestOk) rejections.push({ reason: "DigestMismatch", code: "DigestMismatch", message: "ImageDigest does not match the payload" });
        }
        return { ...base, ok: rejections.length === 0, header, headerSize: d.headerSize, totalSize: d.totalSize, digestOk, rejections };
    }
}

/** One-shot form of OtaImageVerifier over a whole file (or feed `chunks` as they came over BDX). */
export function verifyOtaImage(bytes: Uint8Array | Iterable<Uint8Array>, expect: OtaExpectations = {}): OtaVerifyResult {
    const v = new OtaImageVerifier(expect);
    if (bytes instanceof Uint8Array) v.update(bytes);
    else for (const c of bytes) v.update(c);
    return v.finish();
}
