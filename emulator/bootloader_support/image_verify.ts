/**
 * esp_image_verify() (esp_image_format.c image_load in ESP_IMAGE_VERIFY mode) over bytes: header magic,
 * chip id and revision (bootloader_common_check_chip_validity), segment count and lengths, flash-mapped
 * segment alignment, checksum, the appended SHA-256 — or, with Secure Boot V2 on, the signature sector
 * (which then replaces the simple hash check, as on the chip) — and that image + signature fit the partition.
 *
 * Never throws for bad image bytes: the result says `ok: false` with `code` (esp_err_t name) and `reason`
 * worded like the bootloader's log line, and `log` holds the ESP-IDF log lines the check would print.
 */
import { EspError, type EspErrName } from "../esp_common/err.js";
import { type AppDescriptor, decodeImageHeader, ESP_IMAGE_HEADER_MAGIC, IMAGE_HEADER_LEN } from "./app_format.js";
import { type ChipInfo, type ChipName, chipById, chipInfo, isMappedAddress } from "./chips.js";
import { alignUp, type AppImage, padFF, parseAppImage, sha256, SIXTEEN_MB } from "./image_format.js";
import { checkSignatureSector, SECTOR_SIZE, type SecureBootTrust, type SignatureCheck } from "./secure_boot_v2.js";

export interface LogLine {
    level: "E" | "W" | "I" | "D";
    tag: string;
    message: string;
}

export interface VerifyImageOptions {
    /** The chip the bootloader runs on: the image's chip_id must match. Default: whatever the header says. */
    chip?: ChipName | string | number;
    /** Chip revision as major*100+minor (e.g. 3 = v0.3); when given, min/max_chip_rev_full are enforced. */
    chipRevision?: number;
    /** eFuse block revision (major*100+minor); when given, esp_app_desc_t min/max_efuse_blk_rev_full are enforced. */
    efuseBlockRevision?: number;
    /** Secure Boot V2 enabled, with the eFuse key digests. Without it only checksum and hash are checked. */
    secureBoot?: SecureBootTrust;
    /** Partition size: image (+ padding + signature sector when secure boot is on) must fit. */
    partitionSize?: number;
    /** Flash address of the partition: used for paddr in the log and the mapped-segment alignment check. */
    partitionOffset?: number;
    /** Where the image starts inside `bytes` (default 0). */
    offset?: number;
}

export interface VerifyImageResult {
    ok: boolean;
    /** esp_err_t name when not ok (ESP_ERR_IMAGE_INVALID, ESP_ERR_INVALID_ARG). */
    code?: EspErrName;
    /** The bootloader's message for the first failed check. */
    reason?: string;
    /** data->image_len: through the hash, or through the signature sector with secure boot. 0 when unparsable. */
    imageLength: number;
    appDesc?: AppDescriptor;
    secureVersion?: number;
    chip?: ChipInfo;
    image?: AppImage;
    /** With secure boot: which block verified and why the others did not. */
    signature?: SignatureCheck;
    log: LogLine[];
}

const hex = (n: number) => (n >>> 0).toString(16);
const rev = (full: number) => `${Math.floor(full / 100)}.${full % 100}`;

export function verifyImage(bytes: Uint8Array, options: VerifyImageOptions = {}): VerifyImageResult {
    const log: LogLine[] = [];
    const start = options.offset ?? 0;
    const flashAddr = options.partitionOffset ?? start;
    const fail = (code: EspErrName, reason: string, extra: Partial<VerifyImageResult> = {}): VerifyImageResult => {
        log.push({ level: "E", tag: "esp_image", message: reason });
        return { ok: false, code, reason, imageLength: 0, ...extra, log };
    };
    if (options.partitionSize !== undefined && options.partitionSize > SIXTEEN_MB) {
        return fail("ESP_ERR_INVALID_ARG", `partition size 0x${hex(options.partitionSize)} invalid, larger than 16MB`);
    }
    const img = bytes.subarray(Math.min(start, bytes.length));
    if (img.length === 0 || img[0] !== ESP_IMAGE_HEADER_MAGIC) {
        return fail("ESP_ERR_IMAGE_INVALID", `image at 0x${hex(flashAddr)} has invalid magic byte (nothing flashed here?)`);
    }
    if (img.length < IMAGE_HEADER_LEN) {
        return fail("ESP_ERR_IMAGE_INVALID", `image at 0x${hex(flashAddr)} is truncated: header needs ${IMAGE_HEADER_LEN} bytes, ${img.length} present`);
    }
    const header = decodeImageHeader(img);
    let chip: ChipInfo | undefined;
    if (options.chip !== undefined) {
        chip = chipInfo(options.chip);
        if (header.chipId !== chip.id) return fail("ESP_ERR_IMAGE_INVALID", `mismatch chip ID, expected ${chip.id}, found ${header.chipId}`);
    } else {
        chip = chipById(header.chipId);
    }
    if (options.chipRevision !== undefined) {
        const r = options.chipRevision;
        if (r < header.minChipRevFull) {
            return fail("ESP_ERR_IMAGE_INVALID", `Can't run on lower chip revision, expected ${rev(header.minChipRevFull)}, found ${rev(r)}`);
        }
        if (r > header.maxChipRevFull) {
            return fail("ESP_ERR_IMAGE_INVALID", `Image requires chip rev <= v${rev(header.maxChipRevFull)}, but chip is v${rev(r)}`);
        }
    }
    let image: AppImage;
    try {
        image = parseAppImage(bytes, { offset: start, address: flashAddr });
    } catch (e) {
        if (e instanceof EspError) return fail(e.code as EspErrName, e.message, { ...(chip ? { chip } : {}) });
        throw e;
    }
    const base: Partial<VerifyImageResult> = { image, ...(chip ? { chip } : {}), ...(image.appDesc ? { appDesc: image.appDesc, secureVersion: image.appDesc.secureVersion } : {}) };
    const pageSize = chip ? 1 << chip.mmuPageSizeLog2 : 0x10000;
    for (const s of image.segments) {
        const paddr = flashAddr + s.dataOffset;
        const mapped = chip ? isMappedAddress(chip, s.loadAddr) : false;
        if (mapped && paddr % pageSize !== s.loadAddr % pageSize) {
            return fail("ESP_ERR_IMAGE_INVALID", `Segment ${s.index} load address 0x${hex(s.loadAddr).padStart(8, "0")}, doesn't match data 0x${hex(paddr).padStart(8, "0")}`, base);
        }
        const kind = mapped ? "map" : s.loadAddr >= 0x10000000 ? "load" : "";
        log.push({ level: "I", tag: "esp_image", message: `segment ${s.index}: paddr=${hex(paddr).padStart(8, "0")} vaddr=${hex(s.loadAddr).padStart(8, "0")} size=${hex(s.length).padStart(5, "0")}h (${String(s.length).padStart(6)}) ${kind}`.trimEnd() });
    }
    if (options.efuseBlockRevision !== undefined && image.appDesc && chip?.name !== "esp32") {
        const r = options.efuseBlockRevision;
        const { minEfuseBlkRevFull: min, maxEfuseBlkRevFull: max } = image.appDesc;
        if (r < min) return fail("ESP_ERR_IMAGE_INVALID", `Image requires efuse blk rev >= v${rev(min)}, but chip is v${rev(r)}`, base);
        if (r > max) return fail("ESP_ERR_IMAGE_INVALID", `Image requires efuse blk rev <= v${rev(max)}, but chip is v${rev(r)}`, base);
    }
    if (!image.checksum.ok) {
        return fail("ESP_ERR_IMAGE_INVALID", `Checksum failed. Calculated 0x${hex(image.checksum.computed)} read 0x${hex(image.checksum.stored)}`, base);
    }
    const end = image.imageLength;
    const sigEnd = alignUp(end, SECTOR_SIZE);
    const fullLength = options.secureBoot ? sigEnd + SECTOR_SIZE : end;
    if (options.partitionSize !== undefined && fullLength > options.partitionSize) {
        return fail("ESP_ERR_IMAGE_INVALID", `Image length ${fullLength} doesn't fit in partition length ${options.partitionSize}`, base);
    }
    if (options.secureBoot) {
        log.push({ level: "I", tag: "esp_image", message: "Verifying image signature..." });
        // What the bootloader reads from flash: the image, the bytes up to the 4 KiB boundary, the sector.
        // Bytes beyond the input are erased flash (0xFF).
        const padded = padFF(img.subarray(0, sigEnd), sigEnd);
        const sector = padFF(img.subarray(sigEnd, sigEnd + SECTOR_SIZE), SECTOR_SIZE);
        const signature = checkSignatureSector(sector, sha256(padded), options.secureBoot, padded);
        for (const b of signature.blocks) {
            if (!b.reason.startsWith("empty")) log.push({ level: b.ok ? "I" : "W", tag: "secure_boot_v2", message: `signature block ${b.index}: ${b.reason}` });
        }
        if (!signature.valid) {
            log.push({ level: "E", tag: "esp_image", message: "Secure boot signature verification failed" });
            if (image.hash) {
                log.push({ level: "I", tag: "esp_image", message: "Calculating simple hash to check for corruption..." });
                log.push({ level: "W", tag: "esp_image", message: image.hash.ok ? "image valid, signature bad" : "image corrupted on flash" });
            }
            const reason = `Secure boot signature verification failed: ${signature.reason}`;
            return { ok: false, code: "ESP_ERR_IMAGE_INVALID", reason, imageLength: 0, ...base, signature, log };
        }
        return { ok: true, imageLength: fullLength, ...base, signature, log };
    }
    if (image.hash && !image.hash.ok) return fail("ESP_ERR_IMAGE_INVALID", "Image hash failed - image is corrupt", base);
    return { ok: true, imageLength: end, ...base, log };
}

/**
 * espsecure verify_signature --version 2, but against eFuse key digests instead of one public key: the
 * signature sector of a signed app image (at its image length rounded up to 4 KiB). Throws EspError
 * ESP_ERR_IMAGE_INVALID when `bytes` is not an app image; a missing sector is a failed check, not an error.
 */
export function verifySignedImage(bytes: Uint8Array, trust: SecureBootTrust): SignatureCheck {
    const image = parseAppImage(bytes);
    const sigEnd = image.signatureSectorOffset;
    if (bytes.length < sigEnd + SECTOR_SIZE) {
        return {
            valid: false,
            block: null,
            reason: `no signature sector: the image ends at 0x${hex(image.imageLength)}, a signed image has a 4096-byte sector at 0x${hex(sigEnd)} (file is 0x${hex(bytes.length)} bytes)`,
            blocks: [],
        };
    }
    const padded = padFF(bytes.subarray(0, sigEnd), sigEnd);
    return checkSignatureSector(bytes.subarray(sigEnd, sigEnd + SECTOR_SIZE), sha256(padded), trust, padded);
}
