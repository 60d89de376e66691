/**
 * ESP-IDF app images (esp_image_format.c / esptool's bin_image.py): parse an image into header, segments,
 * checksum, appended SHA-256, esp_app_desc_t and (when present) the Secure Boot V2 signature sector; build a
 * synthetic but well-formed image; and `imageInfo()`, the `esptool image_info` view the CLI prints.
 *
 * Layout: header (24) | { load_addr u32, data_len u32, data }×segment_count | zero pad so that
 * (len + 1) % 16 == 0 | checksum byte = 0xEF ^ every segment-data byte | [SHA-256 of all of the above]
 * | [0xFF pad to 4 KiB + 4 KiB signature sector (Secure Boot V2)].
 */
import { createHash } from "node:crypto";
import { DiagnosticError, EspError } from "../esp_common/err.js";
import {
    APP_DESC_LEN, type AppDescriptor, decodeAppDescriptor, decodeImageHeader, encodeAppDescriptor, encodeImageHeader,
    ESP_IMAGE_HEADER_MAGIC, ESP_IMAGE_MAX_SEGMENTS, ESP_ROM_CHECKSUM_INITIAL, HASH_LEN, IMAGE_HEADER_LEN, type ImageHeader,
    matterSoftwareVersion, SEGMENT_HEADER_LEN,
} from "./app_format.js";
import { type ChipName, chipInfo } from "./chips.js";
import { parseSignatureSector, SECTOR_SIZE, type SignatureBlock } from "./secure_boot_v2.js";
import { concatBytes } from "../esp_common/bytes.js";

export const SIXTEEN_MB = 0x1000000;

export interface ImageSegment {
    index: number;
    loadAddr: number;
    length: number;
    /** Offset of the segment data from the image start. */
    dataOffset: number;
    data: Uint8Array;
}

export interface AppImage {
    header: ImageHeader;
    segments: ImageSegment[];
    checksum: { offset: number; stored: number; computed: number; ok: boolean };
    /** Present when header.hashAppended. */
    hash?: { offset: number; stored: Uint8Array; computed: Uint8Array; ok: boolean };
    /** Bytes from the image start through the checksum (and the hash when appended): esp_image's image_len. */
    imageLength: number;
    /** esp_app_desc_t from segment 0, when its magic word is there. */
    appDesc?: AppDescriptor;
    /** Offset where a Secure Boot V2 signature sector belongs: imageLength rounded up to 4 KiB. */
    signatureSectorOffset: number;
    /** Parsed signature sector when the input extends over it; blocks whose magic/CRC are wrong are left out. */
    signatureSector?: { offset: number; blocks: SignatureBlock[] };
}

export interface ParseOptions {
    /** Where the image starts inside `bytes` (default 0). */
    offset?: number;
    /** Flash address of the image, used in messages like the bootloader's "image at 0x10000 …" (default: offset). */
    address?: number;
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/**
 * Parses an app image. Structural problems (bad magic, too many segments, bad segment length, truncation)
 * throw EspError ESP_ERR_IMAGE_INVALID with the bootloader's wording; checksum and hash mismatches are
 * reported in the result (`checksum.ok`, `hash.ok`) so `image info` can show them.
 */
export function parseAppImage(bytes: Uint8Array, options: ParseOptions = {}): AppImage {
    const start = options.offset ?? 0;
    const addr = options.address ?? start;
    if (!Number.isSafeInteger(start) || start < 0 || start > bytes.length) {
        throw new DiagnosticError("ESP_ERR_INVALID_ARG", `image offset ${start} is outside the ${bytes.length}-byte input`);
    }
    const img = bytes.subarray(start);
    if (img.length >= 1 && img[0] !== ESP_IMAGE_HEADER_MAGIC) {
        throw new EspError("ESP_ERR_IMAGE_INVALID", `image at ${hex(addr)} has invalid magic byte (nothing flashed here?)`, { offset: start, field: "magic" });
    }
    const header = decodeImageHeader(img);
    if (header.segmentCount > ESP_IMAGE_MAX_SEGMENTS) {
        throw new EspError("ESP_ERR_IMAGE_INVALID", `image at ${hex(addr)} segment count ${header.segmentCount} exceeds max ${ESP_IMAGE_MAX_SEGMENTS}`, { offset: start + 1, field: "segment_count" });
    }
    const segments: ImageSegment[] = [];
    let pos = IMAGE_HEADER_LEN;
    let checksum = ESP_ROM_CHECKSUM_INITIAL;
    for (let i = 0; i < header.segmentCount; i++) {
        if (img.length - pos < SEGMENT_HEADER_LEN) {
            throw new EspError("ESP_ERR_IMAGE_INVALID", `image at ${hex(addr)} is truncated: segment ${i} header at ${hex(addr + pos)} is cut off`, { offset: start + pos });
        }
        const v = new DataView(img.buffer, img.byteOffset + pos, SEGMENT_HEADER_LEN);
        const loadAddr = v.getUint32(0, true);
        const length = v.getUint32(4, true);
        if ((length & 3) !== 0 || length >= SIXTEEN_MB) {
            throw new EspError("ESP_ERR_IMAGE_INVALID", `invalid segment length ${hex(length)} (segment ${i})`, { offset: start + pos + 4, field: "data_len" });
        }
        const dataOffset = pos + SEGMENT_HEADER_LEN;
        if (img.length - dataOffset < length) {
            throw new EspError("ESP_ERR_IMAGE_INVALID", `image at ${hex(addr)} is truncated: segment ${i} needs ${hex(length)} bytes at ${hex(addr + dataOffset)}, ${hex(img.length - dataOffset)} present`, { offset: start + dataOffset });
        }
        const data = img.subarray(dataOffset, dataOffset + length);
        for (let j = 0; j < data.length; j++) checksum ^= data[j]!;
        segments.push({ index: i, loadAddr, length, dataOffset, data });
        pos = dataOffset + length;
    }
    const checksumEnd = ((pos + 1 + 15) & ~15) >>> 0;
    if (img.length < checksumEnd) {
        throw new EspError("ESP_ERR_IMAGE_INVALID", `image at ${hex(addr)} is truncated: checksum byte at ${hex(addr + checksumEnd - 1)} is missing`, { offset: start + checksumEnd - 1 });
    }
    const stored = img[checksumEnd - 1]!;
    const result: AppImage = {
        header,
        segments,
        checksum: { offset: checksumEnd - 1, stored, computed: checksum, ok: stored === checksum },
        imageLength: checksumEnd,
        signatureSectorOffset: 0,
    };
    if (header.hashAppended) {
        if (img.length < checksumEnd + HASH_LEN) {
            throw new EspError("ESP_ERR_IMAGE_INVALID", `image at ${hex(addr)} is truncated: appended SHA-256 at ${hex(addr + checksumEnd)} is missing`, { offset: start + checksumEnd });
        }
        const storedHash = img.slice(checksumEnd, checksumEnd + HASH_LEN);
        const computed = sha256(img.subarray(0, checksumEnd));
        result.hash = { offset: checksumEnd, stored: storedHash, computed, ok: equalBytes(storedHash, computed) };
        result.imageLength = checksumEnd + HASH_LEN;
    }
    const seg0 = segments[0];
    if (seg0 && seg0.length >= APP_DESC_LEN) {
        const desc = decodeAppDescriptor(img, seg0.dataOffset);
        if (desc) result.appDesc = desc;
    }
    result.signatureSectorOffset = alignUp(result.imageLength, SECTOR_SIZE);
    if (img.length >= result.signatureSectorOffset + SECTOR_SIZE) {
        const off = result.signatureSectorOffset;
        result.signatureSector = { offset: off, blocks: parseSignatureSector(img.subarray(off, off + SECTOR_SIZE)) };
    }
    return result;
}

/** `esptool image_info`-style summary; the JSON of `mfgsim image info` (cli.md) plus a few extra fields. */
export interface ImageInfo {
    chipId: number;
    chip?: string;
    entryAddr: string;
    segments: Array<{ loadAddr: string; length: number; fileOffset: number }>;
    checksumOk: boolean;
    hashOk: boolean | null;
    imageLength: number;
    appDesc: { version: string; projectName: string; secureVersion: number; idfVer: string; time: string; date: string; matterSoftwareVersion: number | null } | null;
    signatureBlocks: Array<{ index: number; version: number; scheme: string; keyDigest: string; imageDigestOk: boolean }>;
}

export function imageInfo(bytes: Uint8Array, options: ParseOptions = {}): ImageInfo {
    const img = parseAppImage(bytes, options);
    let chip: string | undefined;
    try {
        chip = chipInfo(img.header.chipId).name;
    } catch {
        chip = undefined;
    }
    const imageStart = options.offset ?? 0;
    let signedDigest: Uint8Array | undefined;
    if (img.signatureSector) signedDigest = sha256(padFF(bytes.subarray(imageStart, imageStart + img.signatureSector.offset), img.signatureSector.offset));
    return {
        chipId: img.header.chipId,
        ...(chip ? { chip } : {}),
        entryAddr: hex8(img.header.entryAddr),
        segments: img.segments.map(s => ({ loadAddr: hex8(s.loadAddr), length: s.length, fileOffset: s.dataOffset })),
        checksumOk: img.checksum.ok,
        hashOk: img.hash ? img.hash.ok : null,
        imageLength: img.imageLength,
        appDesc: img.appDesc
            ? {
                version: img.appDesc.version,
                projectName: img.appDesc.projectName,
                secureVersion: img.appDesc.secureVersion,
                idfVer: img.appDesc.idfVer,
                time: img.appDesc.time,
                date: img.appDesc.date,
                matterSoftwareVersion: matterSoftwareVersion(img.appDesc) ?? null,
            }
            : null,
        signatureBlocks: (img.signatureSector?.blocks ?? []).map(b => ({
            index: b.index,
            version: b.version,
            scheme: b.scheme,
            keyDigest: Buffer.from(b.keyDigest).toString("hex"),
            imageDigestOk: signedDigest !== undefined && equalBytes(b.imageDigest, signedDigest),
        })),
    };
}

export interface BuildAppImageOptions {
    chip: ChipName | string | number;
    /** esp_app_desc_t.version (PROJECT_VER), at most 31 bytes. */
    version: string;
    secureVersion?: number;
    /** default "virtual-matter-light" */
    projectName?: string;
    /** Total image length to reach (rounded up to 16): the DROM segment grows with deterministic filler. */
    size?: number;
    /** default "v5.5.1" */
    idfVer?: string;
    /** Matter SoftwareVersion stored in esp_app_desc_t.reserv2 (see app_format.ts). */
    matterSoftwareVersion?: number;
    /** default "12:00:00" / "Jan  1 2025" (deterministic builds) */
    time?: string;
    date?: string;
    /** default SHA-256("dummy elf for " + projectName) */
    appElfSha256?: Uint8Array;
    /** Bytes after esp_app_desc_t in the DROM segment; default "Hello from the virtual ESP32 (DROM)" NUL-padded to 64. */
    rodata?: Uint8Array;
    /** IRAM segment data; default 128 bytes, byte i = (37*i + 11) & 0xFF. */
    code?: Uint8Array;
    /** default IRAM load address + 0x80 */
    entryAddr?: number;
    /** header byte 2, default 2 (DIO) */
    spiMode?: number;
    /** header byte 3 nibbles; defaults 0 (40 MHz) and 2 (4 MB) */
    spiSpeed?: number;
    spiSize?: number;
    /** default 0xEE (no WP pin) */
    wpPin?: number;
    minChipRev?: number;
    minChipRevFull?: number;
    maxChipRevFull?: number;
    minEfuseBlkRevFull?: number;
    /** default 199 */
    maxEfuseBlkRevFull?: number;
    mmuPageSize?: number;
    /** default true (idf.py always appends the SHA-256) */
    hashAppended?: boolean;
    /** Extra segments appended after the IRAM segment. */
    extraSegments?: Array<{ loadAddr: number; data: Uint8Array }>;
}

/**
 * Builds a synthetic, well-formed app image: segment 0 (DROM, flash-mapped) = esp_app_desc_t + rodata,
 * segment 1 (IRAM) = code, then checksum and SHA-256. Deterministic: the same options give the same bytes.
 */
export function buildAppImage(o: BuildAppImageOptions): Uint8Array {
    const chip = chipInfo(o.chip);
    const projectName = o.projectName ?? "virtual-matter-light";
    const secureVersion = o.secureVersion ?? 0;
    if (!Number.isInteger(secureVersion) || secureVersion < 0 || secureVersion > 0xffffffff) {
        throw new DiagnosticError("ESP_ERR_INVALID_ARG", `secure version must be a u32, got ${secureVersion}`, { field: "secureVersion" });
    }
    const desc = encodeAppDescriptor({
        secureVersion,
        version: o.version,
        projectName,
        time: o.time ?? "12:00:00",
        date: o.date ?? "Jan  1 2025",
        idfVer: o.idfVer ?? "v5.5.1",
        appElfSha256: o.appElfSha256 ?? sha256(new TextEncoder().encode(`dummy elf for ${projectName}`)),
        minEfuseBlkRevFull: o.minEfuseBlkRevFull ?? 0,
        maxEfuseBlkRevFull: o.maxEfuseBlkRevFull ?? 199,
        mmuPageSize: o.mmuPageSize ?? chip.mmuPageSizeLog2,
        ...(o.matterSoftwareVersion !== undefined ? { matterSoftwareVersion: o.matterSoftwareVersion } : {}),
    });
    let rodata = o.rodata ?? defaultRodata();
    const code = o.code ?? Uint8Array.from({ length: 128 }, (_, i) => (37 * i + 11) & 0xff);
    const extra = o.extraSegments ?? [];
    for (const [what, d] of [["rodata", rodata], ["code", code], ...extra.map((s, i) => [`extra segment ${i}`, s.data] as const)] as const) {
        if (d.length % 4 !== 0) throw new DiagnosticError("ESP_ERR_INVALID_SIZE", `${what} length ${d.length} is not a multiple of 4 (segment data is word-aligned)`, { field: what });
    }
    if (2 + extra.length > ESP_IMAGE_MAX_SEGMENTS) {
        throw new DiagnosticError("ESP_ERR_INVALID_ARG", `at most ${ESP_IMAGE_MAX_SEGMENTS} segments`, { field: "extraSegments" });
    }
    const segs = (r: Uint8Array) => [
        { loadAddr: chip.dromLoad, data: concatBytes(desc, r) },
        { loadAddr: chip.iramLoad, data: code },
        ...extra,
    ];
    if (o.size !== undefined) {
        if (!Number.isSafeInteger(o.size) || o.size < 0 || o.size > SIXTEEN_MB) {
            throw new DiagnosticError("ESP_ERR_INVALID_SIZE", `image size must be 0..16 MiB, got ${o.size}`, { field: "size" });
        }
        const base = imageLengthOf(segs(rodata), o.hashAppended ?? true);
        if (o.size > base) {
            // every 16 bytes of filler add 16 bytes to the (16-aligned) image
            const fill = alignUp(o.size - base, 16);
            rodata = concatBytes(rodata, filler(fill, `${projectName}/${o.version}`));
        }
    }
    const segments = segs(rodata);
    if (segments[0]!.data.length >= SIXTEEN_MB) throw new DiagnosticError("ESP_ERR_INVALID_SIZE", "DROM segment would reach 16 MiB", { field: "size" });
    const header = encodeImageHeader({
        segmentCount: segments.length,
        spiMode: o.spiMode ?? 2,
        spiSpeed: o.spiSpeed ?? 0,
        spiSize: o.spiSize ?? 2,
        entryAddr: o.entryAddr ?? chip.iramLoad + 0x80,
        wpPin: o.wpPin ?? 0xee,
        spiPinDrv: [0, 0, 0],
        chipId: chip.id,
        minChipRev: o.minChipRev ?? chip.minChipRev,
        minChipRevFull: o.minChipRevFull ?? chip.minChipRevFull,
        maxChipRevFull: o.maxChipRevFull ?? chip.maxChipRevFull,
        hashAppended: o.hashAppended ?? true,
    });
    return assembleImage(header, segments);
}

/** Header + segments → image with padding, checksum and (if the header says so) the appended SHA-256. */
export function assembleImage(header: Uint8Array, segments: Array<{ loadAddr: number; data: Uint8Array }>): Uint8Array {
    const hashAppended = header[23] !== 0;
    const total = imageLengthOf(segments, hashAppended);
    const out = new Uint8Array(total);
    out.set(header, 0);
    let pos = IMAGE_HEADER_LEN;
    let checksum = ESP_ROM_CHECKSUM_INITIAL;
    const v = new DataView(out.buffer);
    for (const s of segments) {
        v.setUint32(pos, s.loadAddr >>> 0, true);
        v.setUint32(pos + 4, s.data.length, true);
        out.set(s.data, pos + SEGMENT_HEADER_LEN);
        for (let j = 0; j < s.data.length; j++) checksum ^= s.data[j]!;
        pos += SEGMENT_HEADER_LEN + s.data.length;
    }
    const checksumEnd = (pos + 1 + 15) & ~15;
    out[checksumEnd - 1] = checksum;
    if (hashAppended) out.set(sha256(out.subarray(0, checksumEnd)), checksumEnd);
    return out;
}

function imageLengthOf(segments: Array<{ data: Uint8Array }>, hashAppended: boolean): number {
    const pos = segments.reduce((n, s) => n + SEGMENT_HEADER_LEN + s.data.length, IMAGE_HEADER_LEN);
    return ((pos + 1 + 15) & ~15) + (hashAppended ? HASH_LEN : 0);
}

function defaultRodata(): Uint8Array {
    const out = new Uint8Array(64);
    out.set(new TextEncoder().encode("Hello from the virtual ESP32 (DROM)"));
    return out;
}

/** Deterministic filler (xorshift32 seeded from a string): looks like data, compresses poorly, costs nothing. */
function filler(length: number, seed: string): Uint8Array {
    let x = 0x811c9dc5;
    for (const c of seed) x = Math.imul(x ^ c.charCodeAt(0), 0x01000193) >>> 0;
    if (x === 0) x = 1;
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
        x ^= x << 13; x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5; x >>>= 0;
        out[i] = x & 0xff;
    }
    return out;
}

export function sha256(data: Uint8Array): Uint8Array {
    return new Uint8Array(createHash("sha256").update(data).digest());
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
}

export function alignUp(n: number, a: number): number {
    return Math.ceil(n / a) * a;
}

/** `bytes` extended with 0xFF (erased flash) to `length`. */
export function padFF(bytes: Uint8Array, length: number): Uint8Array {
    if (bytes.length >= length) return bytes.subarray(0, length);
    const out = new Uint8Array(length).fill(0xff);
    out.set(bytes);
    return out;
}

function hex8(n: number): string {
    return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}
