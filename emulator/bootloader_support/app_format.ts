/**
 * esp_app_format.h: the 24-byte image header, the 8-byte segment header and esp_app_desc_t (256 bytes at the
 * start of segment 0's data, i.e. image offset 0x20). Plain encoders/decoders over Uint8Array.
 *
 * mfgsim extension (documented, invisible to ESP-IDF): the Matter SoftwareVersion the virtual device reports
 * may be stored in esp_app_desc_t.reserv2[0..1] (descriptor offset 0xB8): u32 marker 0x5653544D ("MTSV" in
 * flash order) followed by the u32 version. Without the marker, `matterSoftwareVersion()` falls back to the
 * `version` string when it is a plain decimal (or 0x-hex) integer ≤ 0xFFFFFFFF, else undefined.
 */
import { DiagnosticError, EspError } from "../esp_common/err.js";

export const ESP_IMAGE_HEADER_MAGIC = 0xe9;
export const ESP_IMAGE_MAX_SEGMENTS = 16;
export const IMAGE_HEADER_LEN = 24;
export const SEGMENT_HEADER_LEN = 8;
export const ESP_APP_DESC_MAGIC_WORD = 0xabcd5432;
export const APP_DESC_LEN = 256;
/** Image offset of esp_app_desc_t: header (24) + segment 0 header (8). */
export const APP_DESC_OFFSET = IMAGE_HEADER_LEN + SEGMENT_HEADER_LEN;
export const ESP_ROM_CHECKSUM_INITIAL = 0xef;
export const HASH_LEN = 32;
/** Marker of mfgsim's Matter SoftwareVersion in esp_app_desc_t.reserv2 ("MTSV"). */
export const MATTER_SV_MARKER = 0x5653544d;
export const MATTER_SV_OFFSET = 0xb8;

/** esp_image_header_t */
export interface ImageHeader {
    magic: number;
    segmentCount: number;
    /** esp_image_spi_mode_t: 0 QIO, 1 QOUT, 2 DIO, 3 DOUT, 4 FAST_READ, 5 SLOW_READ */
    spiMode: number;
    /** low nibble of byte 3 (esp_image_spi_freq_t) */
    spiSpeed: number;
    /** high nibble of byte 3 (esp_image_flash_size_t: 0 1MB, 1 2MB, 2 4MB, 3 8MB, 4 16MB, …) */
    spiSize: number;
    entryAddr: number;
    wpPin: number;
    spiPinDrv: [number, number, number];
    chipId: number;
    /** deprecated major-only revision */
    minChipRev: number;
    /** major * 100 + minor */
    minChipRevFull: number;
    maxChipRevFull: number;
    reserved: Uint8Array;
    hashAppended: boolean;
}

/** esp_app_desc_t */
export interface AppDescriptor {
    magic: number;
    secureVersion: number;
    version: string;
    projectName: string;
    time: string;
    date: string;
    idfVer: string;
    appElfSha256: Uint8Array;
    minEfuseBlkRevFull: number;
    maxEfuseBlkRevFull: number;
    /** log2 of the MMU page size the app was built for */
    mmuPageSize: number;
    /** mfgsim's explicit Matter SoftwareVersion (reserv2 marker), if present */
    matterSoftwareVersion?: number;
}

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export function encodeImageHeader(h: Omit<ImageHeader, "magic" | "reserved"> & { magic?: number; reserved?: Uint8Array }): Uint8Array {
    const out = new Uint8Array(IMAGE_HEADER_LEN);
    const v = dv(out);
    out[0] = h.magic ?? ESP_IMAGE_HEADER_MAGIC;
    out[1] = h.segmentCount;
    out[2] = h.spiMode;
    out[3] = ((h.spiSize & 0xf) << 4) | (h.spiSpeed & 0xf);
    v.setUint32(4, h.entryAddr >>> 0, true);
    out[8] = h.wpPin;
    out.set(h.spiPinDrv, 9);
    v.setUint16(12, h.chipId, true);
    out[14] = h.minChipRev;
    v.setUint16(15, h.minChipRevFull, true);
    v.setUint16(17, h.maxChipRevFull, true);
    if (h.reserved) out.set(h.reserved.subarray(0, 4), 19);
    out[23] = h.hashAppended ? 1 : 0;
    return out;
}

/** Decodes the 24-byte header; throws ESP_ERR_IMAGE_INVALID when truncated (magic is checked by the caller). */
export function decodeImageHeader(b: Uint8Array, at = 0): ImageHeader {
    if (b.length - at < IMAGE_HEADER_LEN) {
        throw new EspError("ESP_ERR_IMAGE_INVALID", `image at 0x${at.toString(16)} is truncated: header needs ${IMAGE_HEADER_LEN} bytes, ${Math.max(0, b.length - at)} present`, { offset: at });
    }
    const h = b.subarray(at, at + IMAGE_HEADER_LEN);
    const v = dv(h);
    return {
        magic: h[0]!,
        segmentCount: h[1]!,
        spiMode: h[2]!,
        spiSpeed: h[3]! & 0xf,
        spiSize: h[3]! >> 4,
        entryAddr: v.getUint32(4, true),
        wpPin: h[8]!,
        spiPinDrv: [h[9]!, h[10]!, h[11]!],
        chipId: v.getUint16(12, true),
        minChipRev: h[14]!,
        minChipRevFull: v.getUint16(15, true),
        maxChipRevFull: v.getUint16(17, true),
        reserved: h.slice(19, 23),
        // the bootloader treats any non-zero byte as "hash appended" (esptool only writes 0 or 1)
        hashAppended: h[23] !== 0,
    };
}

/** What encodeAppDescriptor writes (the magic is always ESP_APP_DESC_MAGIC_WORD). */
export type AppDescriptorInput = Omit<AppDescriptor, "magic">;

export function encodeAppDescriptor(d: AppDescriptorInput): Uint8Array {
    const out = new Uint8Array(APP_DESC_LEN);
    const v = dv(out);
    v.setUint32(0, ESP_APP_DESC_MAGIC_WORD, true);
    v.setUint32(4, d.secureVersion >>> 0, true);
    putString(out, 16, 32, d.version, "version");
    putString(out, 48, 32, d.projectName, "projectName");
    putString(out, 80, 16, d.time, "time");
    putString(out, 96, 16, d.date, "date");
    putString(out, 112, 32, d.idfVer, "idfVer");
    if (d.appElfSha256.length !== 32) throw new DiagnosticError("ESP_ERR_INVALID_ARG", "app_elf_sha256 must be 32 bytes", { field: "appElfSha256" });
    out.set(d.appElfSha256, 144);
    v.setUint16(176, d.minEfuseBlkRevFull, true);
    v.setUint16(178, d.maxEfuseBlkRevFull, true);
    out[180] = d.mmuPageSize;
    if (d.matterSoftwareVersion !== undefined) {
        const sv = d.matterSoftwareVersion;
        if (!Number.isInteger(sv) || sv < 0 || sv > 0xffffffff) {
            throw new DiagnosticError("ESP_ERR_INVALID_ARG", `Matter software version must be a u32, got ${sv}`, { field: "matterSoftwareVersion" });
        }
        v.setUint32(MATTER_SV_OFFSET, MATTER_SV_MARKER, true);
        v.setUint32(MATTER_SV_OFFSET + 4, sv, true);
    }
    return out;
}

/** Decodes esp_app_desc_t at `at`; returns undefined when fewer than 256 bytes are there or the magic is wrong. */
export function decodeAppDescriptor(b: Uint8Array, at = 0): AppDescriptor | undefined {
    if (at < 0 || b.length - at < APP_DESC_LEN) return undefined;
    const d = b.subarray(at, at + APP_DESC_LEN);
    const v = dv(d);
    if (v.getUint32(0, true) !== ESP_APP_DESC_MAGIC_WORD) return undefined;
    const desc: AppDescriptor = {
        magic: ESP_APP_DESC_MAGIC_WORD,
        secureVersion: v.getUint32(4, true),
        version: getString(d, 16, 32),
        projectName: getString(d, 48, 32),
        time: getString(d, 80, 16),
        date: getString(d, 96, 16),
        idfVer: getString(d, 112, 32),
        appElfSha256: d.slice(144, 176),
        minEfuseBlkRevFull: v.getUint16(176, true),
        maxEfuseBlkRevFull: v.getUint16(178, true),
        mmuPageSize: d[180]!,
    };
    if (v.getUint32(MATTER_SV_OFFSET, true) === MATTER_SV_MARKER) desc.matterSoftwareVersion = v.getUint32(MATTER_SV_OFFSET + 4, true);
    return desc;
}

/**
 * The Matter SoftwareVersion (u32) a virtual device running this app reports: the explicit reserv2 field,
 * else `version` when it is an integer ("42", "0x2A"), else undefined (the caller picks its default).
 */
export function matterSoftwareVersion(desc: Pick<AppDescriptor, "version" | "matterSoftwareVersion">): number | undefined {
    if (desc.matterSoftwareVersion !== undefined) return desc.matterSoftwareVersion;
    const s = desc.version.trim();
    const n = /^[0-9]{1,10}$/.test(s) ? parseInt(s, 10) : /^0x[0-9a-f]{1,8}$/i.test(s) ? parseInt(s.slice(2), 16) : NaN;
    return Number.isSafeInteger(n) && n <= 0xffffffff ? n : undefined;
}

function putString(out: Uint8Array, at: number, size: number, s: string, field: string): void {
    const bytes = new TextEncoder().encode(s);
    // The C fields are NUL-terminated char arrays: at most size-1 characters survive (strlcpy in esp_app_desc.c).
    if (bytes.length > size - 1) {
        throw new DiagnosticError("ESP_ERR_INVALID_SIZE", `${field} '${s}' is ${bytes.length} bytes; esp_app_desc_t holds at most ${size - 1}`, { field });
    }
    out.set(bytes, at);
}

function getString(d: Uint8Array, at: number, size: number): string {
    const f = d.subarray(at, at + size);
    const nul = f.indexOf(0);
    return new TextDecoder("utf-8", { fatal: false }).decode(nul < 0 ? f : f.subarray(0, nul));
}
