/**
 * A full flash image laid out the way `idf.py flash` / `esptool write_flash` (and esptool merge_bin) would write it:
 * the 2nd-stage bootloader at 0x1000 (ESP32) or 0x0 (C3/S3/C6/H2), the partition table at
 * CONFIG_PARTITION_TABLE_OFFSET, the app in the factory (else ota_0) slot, the factory NVS partition into the
 * partition labelled `fctry`, nvs_keys into the data/nvs_keys partition and esp_secure_cert into the 0x3F
 * partition. With flash encryption the regions ESP-IDF encrypts are written as `esptool write_flash --encrypt`
 * would (the app and the flagged partitions as far as written; bootloader, table, otadata and nvs_keys in full).
 * Pure: bytes in, bytes out.
 */
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { buildAppImage } from "../bootloader_support/index.js";
import { CHIP_DEFS, type ChipName, Efuses } from "../efuse/index.js";
import { encryptedRanges, flashCipher } from "../flash_encryption/index.js";
import {
    AppSubtype,
    DataSubtype,
    encodePartitionTable,
    isOtaAppSubtype,
    PARTITION_TABLE_OFFSET,
    PARTITION_TABLE_SIZE,
    parsePartitionCsv,
    type PartitionEntry,
    PartitionType,
    verifySizeFits,
} from "../esp_partition/index.js";
import { bootloaderOffset } from "./chip.js";

/** esp_secure_cert's custom partition type. */
export const ESP_SECURE_CERT_TYPE = 0x3f;

/** esp-matter's example partition table (examples/common partitions.csv): factory data in `fctry` at 0x3E0000. */
export const ESP_MATTER_PARTITIONS_CSV = `# Name,   Type, SubType, Offset,  Size, Flags
esp_secure_cert,  0x3F, ,0xd000,    0x2000, encrypted
nvs,      data, nvs,     0x10000,   0xC000,
nvs_keys, data, nvs_keys,,          0x1000, encrypted
otadata,  data, ota,     ,          0x2000
phy_init, data, phy,     ,          0x1000,
ota_0,    app,  ota_0,   0x20000,   0x1E0000,
ota_1,    app,  ota_1,   0x200000,  0x1E0000,
fctry,    data, nvs,     0x3E0000,  0x6000
`;

export interface FlashBuildOptions {
    chip: ChipName;
    /** Partition table CSV text or parsed entries. */
    partitions: string | readonly PartitionEntry[];
    app?: Uint8Array;
    /** Factory NVS partition (esp-matter-mfg-tool's <uuid>-partition.bin). */
    fctry?: Uint8Array;
    /** Label of the factory partition (CONFIG_CHIP_FACTORY_NAMESPACE_PARTITION_LABEL), default "fctry". */
    fctryLabel?: string;
    nvsKeys?: Uint8Array;
    secureCert?: Uint8Array;
    /** A bootloader image; default a synthetic one built for the chip. */
    bootloader?: Uint8Array;
    /** Flash size in bytes (default 4 MB). */
    flashSize?: number;
    tableOffset?: number;
    /**
     * Encrypt the flash-encrypted regions with the eFuses' key. `efuses` is updated in place when a key is
     * generated (`generateKey`) or encryption is not yet enabled in it.
     */
    encrypt?: boolean;
    efuses?: Efuses;
    /** Random bytes for a generated key (tests pass fixed bytes); default node's randomBytes. */
    randomKey?: (length: number) => Uint8Array;
}

export interface WrittenRegion {
    name: string;
    offset: number;
    /** Bytes written. */
    length: number;
    /** Partition size (bootloader: space up to the table). */
    size: number;
    source: "bootloader" | "partition-table" | "app" | "fctry" | "nvs_keys" | "esp_secure_cert";
    encrypted: boolean;
}

export interface FlashBuildResult {
    image: Uint8Array;
    partitions: PartitionEntry[];
    written: WrittenRegion[];
    /** The eFuses (with the key and SPI_BOOT_CRYPT_CNT) when `encrypt`. */
    efuses?: Efuses;
    /** True when a new flash encryption key was generated and burned into `efuses`. */
    generatedKey: boolean;
    /** True when encryption was enabled in `efuses` (crypt counter burned) by this build. */
    enabledEncryption: boolean;
    warnings: string[];
}

/** A small synthetic 2nd-stage bootloader image for the chip. */
export function syntheticBootloader(chip: ChipName): Uint8Array {
    return buildAppImage({ chip, version: "v5.5.1", projectName: "bootloader", rodata: new TextEncoder().encode("ESP-IDF 2nd stage bootloader (mfgsim)\0\0\0") });
}

function fits(what: string, data: Uint8Array, part: PartitionEntry): void {
    if (data.length > part.size) {
        throw new EspError("ESP_ERR_INVALID_SIZE", `${what} is 0x${data.length.toString(16)} bytes; partition ${part.name} holds 0x${part.size.toString(16)}`, { field: part.name });
    }
}

export function buildFlashImage(o: FlashBuildOptions): FlashBuildResult {
    const flashSize = o.flashSize ?? 4 * 1024 * 1024;
    const tableOffset = o.tableOffset ?? PARTITION_TABLE_OFFSET;
    const partitions = typeof o.partitions === "string" ? parsePartitionCsv(o.partitions, { offset: tableOffset, flashSize }) : o.partitions.slice();
    verifySizeFits(partitions, flashSize);
    const image = new Uint8Array(flashSize).fill(0xff);
    const written: WrittenRegion[] = [];
    const warnings: string[] = [];
    const blOffset = bootloaderOffset(o.chip);
    const place = (offset: number, data: Uint8Array, region: Omit<WrittenRegion, "offset" | "length" | "encrypted">) => {
        image.set(data, offset);
        written.push({ ...region, offset, length: data.length, encrypted: false });
    };

    const bootloader = o.bootloader ?? syntheticBootloader(o.chip);
    if (blOffset + bootloader.length > tableOffset) {
        throw new EspError("ESP_ERR_INVALID_SIZE", `bootloader (0x${bootloader.length.toString(16)} bytes at 0x${blOffset.toString(16)}) overlaps the partition table at 0x${tableOffset.toString(16)}`, { field: "bootloader" });
    }
    place(blOffset, bootloader, { name: "bootloader", size: tableOffset - blOffset, source: "bootloader" });
    place(tableOffset, encodePartitionTable(partitions, { padTo: PARTITION_TABLE_SIZE }), { name: "partition-table", size: PARTITION_TABLE_SIZE, source: "partition-table" });

    if (o.app) {
        const slot =
            partitions.find(p => p.type === PartitionType.APP && p.subtype === AppSubtype.FACTORY) ??
            partitions.filter(p => p.type === PartitionType.APP && isOtaAppSubtype(p.subtype)).sort((a, b) => a.subtype - b.subtype)[0];
        if (!slot) throw new DiagnosticError("ESP_ERR_NOT_FOUND", "the partition table has no factory or ota_N app partition for --app", { field: "app" });
        fits("the app image", o.app, slot);
        place(slot.offset, o.app, { name: slot.name, size: slot.size, source: "app" });
    }
    if (o.fctry) {
        const label = o.fctryLabel ?? "fctry";
        const part = partitions.find(p => p.name === label);
        if (!part) throw new DiagnosticError("ESP_ERR_NVS_PART_NOT_FOUND", `no partition labelled '${label}' in the partition table for the factory NVS partition`, { field: "fctry" });
        if (part.type !== PartitionType.DATA || part.subtype !== DataSubtype.NVS) warnings.push(`partition ${label} is not data/nvs: nvs_flash_init_partition("${label}") would not find it`);
        fits("the factory NVS partition", o.fctry, part);
        place(part.offset, o.fctry, { name: part.name, size: part.size, source: "fctry" });
    }
    if (o.nvsKeys) {
        const part = partitions.find(p => p.type === PartitionType.DATA && p.subtype === DataSubtype.NVS_KEYS);
        if (!part) throw new DiagnosticError("ESP_ERR_NOT_FOUND", "no data/nvs_keys partition in the partition table for --nvs-keys", { field: "nvs-keys" });
        fits("the NVS keys partition", o.nvsKeys, part);
        place(part.offset, o.nvsKeys, { name: part.name, size: part.size, source: "nvs_keys" });
    }
    if (o.secureCert) {
        const part = partitions.find(p => p.type === ESP_SECURE_CERT_TYPE) ?? partitions.find(p => p.name === "esp_secure_cert");
        if (!part) throw new DiagnosticError("ESP_ERR_NOT_FOUND", "no esp_secure_cert (type 0x3F) partition in the partition table for --secure-cert", { field: "secure-cert" });
        fits("the esp_secure_cert partition", o.secureCert, part);
        place(part.offset, o.secureCert, { name: part.name, size: part.size, source: "esp_secure_cert" });
    }
    for (let i = 0; i < written.length; i++) {
        for (let j = i + 1; j < written.length; j++) {
            const a = written[i]!;
            const b = written[j]!;
            if (a.offset < b.offset + b.length && b.offset < a.offset + a.length) {
                throw new EspError("ESP_ERR_INVALID_ARG", `${a.name} (0x${a.offset.toString(16)}+0x${a.length.toString(16)}) overlaps ${b.name} (0x${b.offset.toString(16)}+0x${b.length.toString(16)})`);
            }
        }
    }

    let efuses = o.efuses;
    let generatedKey = false;
    let enabledEncryption = false;
    if (o.encrypt) {
        efuses ??= new Efuses(o.chip);
        if (efuses.chip.name !== o.chip) throw new DiagnosticError("EFUSE_JSON_INVALID", `the eFuse summary is an ${efuses.chip.title}'s, the flash is for ${CHIP_DEFS[o.chip].title}`, { field: "efuse" });
        let key = efuses.flashEncryptionKey();
        if (key === undefined) {
            const rnd = o.randomKey ?? defaultRandom;
            const raw = rnd(32);
            if (o.chip === "esp32") efuses.burnKey("BLOCK1", raw, "FLASH_ENCRYPTION");
            else {
                const free = efuses.keyBlocks().find(b => b.purposeValue === 0 && (efuses!.getBytes(b.block)?.every(x => x === 0) ?? false));
                if (!free) throw new DiagnosticError("ESP_ERR_NOT_FOUND", "no free eFuse key block for a flash encryption key", { field: "efuse" });
                efuses.burnKey(free.index, raw, "XTS_AES_128_KEY");
            }
            if (o.chip === "esp32" && efuses.getInt("FLASH_CRYPT_CONFIG") === 0n) efuses.burn("FLASH_CRYPT_CONFIG", 0xf);
            generatedKey = true;
            key = efuses.flashEncryptionKey()!;
        }
        if (!efuses.flashEncryptionEnabled()) {
            efuses.enableFlashEncryption("development");
            enabledEncryption = true;
        }
        const cipher = flashCipher(key.key, key.scheme !== "esp32-aes256", key.flashCryptConfig ?? 0xf);
        const ranges = encryptedRanges(partitions, { tableOffset, bootloaderOffset: blOffset });
        for (const r of ranges) {
            const full = r.what === "bootloader" || r.what === "partition_table" || partitions.some(p => p.name === r.what && p.type === PartitionType.DATA && (p.subtype === DataSubtype.OTA || p.subtype === DataSubtype.NVS_KEYS));
            let lo = r.offset;
            let hi = r.offset + r.size;
            if (!full) {
                const w = written.find(x => x.offset >= r.offset && x.offset < r.offset + r.size);
                if (!w) continue; // erased flash stays erased; the device reads garbage there, as a real one does
                lo = w.offset;
                hi = Math.min(r.offset + r.size, Math.ceil((w.offset + w.length) / 16) * 16);
            }
            image.set(cipher.encrypt(lo, image.subarray(lo, hi)), lo);
            for (const w of written) if (w.offset >= r.offset && w.offset < r.offset + r.size) w.encrypted = true;
        }
    } else if (o.efuses?.flashEncryptionEnabled()) {
        warnings.push("the eFuses have flash encryption enabled but --encrypt was not given: the device will decrypt plaintext and fail to boot");
    }
    return { image, partitions, written, ...(efuses ? { efuses } : {}), generatedKey, enabledEncryption, warnings };
}

function defaultRandom(length: number): Uint8Array {
    // lazy so the module stays importable in environments without node:crypto's randomBytes at load time
    return new Uint8Array(globalThis.crypto.getRandomValues(new Uint8Array(length)));
}
