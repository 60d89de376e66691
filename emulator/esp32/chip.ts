/**
 * The virtual ESP32: a NOR flash, the chip's eFuses and the flash-encryption engine between them, composed the way
 * the SoC does it. With flash encryption on (SPI_BOOT_CRYPT_CNT / FLASH_CRYPT_CNT odd) reads of the regions ESP-IDF
 * encrypts (bootloader, partition table, app partitions, otadata, nvs_keys, partitions flagged `encrypted`) are
 * decrypted transparently (the flash cache / esp_partition_read) and writes there are encrypted
 * (esp_partition_write → esp_flash_write_encrypted); everything else (NVS data) goes to flash as is
 * (esp_partition_write_raw). `flashReadRaw` / `flashWriteRaw` bypass the engine.
 */
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { CHIP_DEFS, CHIPS, type ChipName, Efuses } from "../efuse/index.js";
import { type EncryptedRange, encryptedRanges, type FlashCipher, flashCipher } from "../flash_encryption/index.js";
import { PARTITION_TABLE_OFFSET, type PartitionEntry } from "../esp_partition/index.js";
import { type FlashIo, NorFlash, SECTOR_SIZE } from "../spi_flash/index.js";

export type { ChipName } from "../efuse/index.js";
export { CHIPS } from "../efuse/index.js";

/** Where the ROM loads the 2nd-stage bootloader from: 0x1000 on the ESP32 (and S2), 0x0 on C3/S3/C6/H2. */
export function bootloaderOffset(chip: ChipName): number {
    return chip === "esp32" ? 0x1000 : 0x0;
}

/** esp_chip_id_t of the app image header (esp_app_format.h). */
export const CHIP_IDS: Readonly<Record<ChipName, number>> = { esp32: 0x0, esp32c3: 0x5, esp32s3: 0x9, esp32c6: 0xd, esp32h2: 0x10 };

export function chipByImageId(id: number): ChipName | undefined {
    return (Object.entries(CHIP_IDS) as Array<[ChipName, number]>).find(([, v]) => v === id)?.[0];
}

export function parseChipName(text: string): ChipName {
    const t = text.trim().toLowerCase().replace(/-/g, "");
    if ((CHIPS as readonly string[]).includes(t)) return t as ChipName;
    throw new DiagnosticError("ESP_ERR_NOT_SUPPORTED", `unknown chip '${text}' (one of ${CHIPS.join(", ")})`, { field: "chip" });
}

export interface VirtualEsp32Options {
    chip: ChipName;
    flash: NorFlash;
    efuses?: Efuses;
    /** CONFIG_PARTITION_TABLE_OFFSET (default 0x8000). */
    tableOffset?: number;
}

export interface FromImageOptions {
    /** The chip; default: the eFuse summary's (ESP32 when it has FLASH_CRYPT_CNT), else the bootloader image header's, else esp32c3. */
    chip?: ChipName;
    /** eFuses: an Efuses object or an `espefuse summary --format json` document (text or parsed). Default: a fresh chip. */
    efuses?: Efuses | string | object;
    /** Flash chip size; default the image size rounded up to a power of two, at least 4 MB. */
    flashSize?: number;
    tableOffset?: number;
    /** NorFlash seed for torn writes. */
    seed?: number;
}

export class VirtualEsp32 {
    readonly chip: ChipName;
    readonly flash: NorFlash;
    readonly efuses: Efuses;
    readonly tableOffset: number;
    readonly bootloaderOffset: number;
    private table: readonly PartitionEntry[] = [];
    private cipherCache?: { key: string; cipher: FlashCipher };

    constructor(options: VirtualEsp32Options) {
        this.chip = options.chip;
        this.flash = options.flash;
        this.efuses = options.efuses ?? new Efuses(options.chip);
        if (this.efuses.chip.name !== this.chip) {
            throw new DiagnosticError("EFUSE_JSON_INVALID", `the eFuses are an ${this.efuses.chip.title}'s, the chip is ${CHIP_DEFS[this.chip].title}`, { field: "chip" });
        }
        this.tableOffset = options.tableOffset ?? PARTITION_TABLE_OFFSET;
        if (!Number.isSafeInteger(this.tableOffset) || this.tableOffset % SECTOR_SIZE !== 0 || this.tableOffset + SECTOR_SIZE > this.flash.size || this.tableOffset < 0x1000) {
            throw new EspError("ESP_ERR_INVALID_ARG", `partition table offset 0x${this.tableOffset.toString(16)} must be 4 KiB aligned, ≥ 0x1000 and inside the flash`, { field: "tableOffset" });
        }
        this.bootloaderOffset = bootloaderOffset(this.chip);
    }

    /** A chip from a flash image (`esptool read_flash` dump or `mfgsim flash build` output). */
    static fromImage(image: Uint8Array, options: FromImageOptions = {}): VirtualEsp32 {
        let efuses: Efuses | undefined;
        if (options.efuses instanceof Efuses) efuses = options.efuses;
        else if (options.efuses !== undefined) efuses = Efuses.fromSummaryJson(options.efuses, options.chip === "esp32" ? undefined : options.chip);
        let chip = options.chip ?? efuses?.chip.name;
        if (chip === undefined) chip = detectChip(image);
        if (efuses === undefined) efuses = new Efuses(chip);
        let size = options.flashSize;
        if (size === undefined) {
            size = 4 * 1024 * 1024;
            while (size < image.length && size < 16 * 1024 * 1024) size *= 2;
        }
        if (image.length > size) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `flash image of 0x${image.length.toString(16)} bytes is larger than the 0x${size.toString(16)}-byte flash`, { field: "flashSize" });
        }
        const flash = new NorFlash({ size, image, ...(options.seed !== undefined ? { seed: options.seed } : {}) });
        return new VirtualEsp32({ chip, flash, efuses, ...(options.tableOffset !== undefined ? { tableOffset: options.tableOffset } : {}) });
    }

    /** Flash encryption is on: the crypt counter has an odd number of bits. */
    get flashEncryption(): boolean {
        return this.efuses.flashEncryptionEnabled();
    }

    /** The AES engine with the eFuse key; undefined when flash encryption is off. */
    cipher(): FlashCipher | undefined {
        if (!this.flashEncryption) return undefined;
        const k = this.efuses.flashEncryptionKey();
        if (k === undefined) {
            throw new EspError("ESP_ERR_INVALID_STATE", `flash encryption is enabled (${this.efuses.chip.cryptCnt} odd) but no flash encryption key is burned`, {
                field: this.efuses.chip.cryptCnt,
            });
        }
        const id = `${k.scheme}:${Buffer.from(k.key).toString("hex")}:${k.flashCryptConfig ?? ""}`;
        if (this.cipherCache?.key !== id) this.cipherCache = { key: id, cipher: flashCipher(k.key, k.scheme !== "esp32-aes256", k.flashCryptConfig ?? 0xf) };
        return this.cipherCache.cipher;
    }

    /** The partition table the encrypted regions are derived from (the bootloader sets it after loading the table). */
    setPartitionTable(entries: readonly PartitionEntry[]): void {
        this.table = entries.slice();
    }

    get partitionTable(): readonly PartitionEntry[] {
        return this.table;
    }

    /** Flash ranges stored encrypted when flash encryption is on. */
    encryptedRanges(): EncryptedRange[] {
        return encryptedRanges(this.table, { tableOffset: this.tableOffset, bootloaderOffset: this.bootloaderOffset });
    }

    /** Reads through the flash-encryption engine (decrypting encrypted regions when encryption is on). */
    flashRead(address: number, length: number): Uint8Array {
        const out = this.flash.read(address, length);
        const cipher = this.cipher();
        if (!cipher) return out;
        for (const r of this.encryptedRanges()) {
            const lo = Math.max(address, r.offset);
            const hi = Math.min(address + length, r.offset + r.size);
            if (lo >= hi) continue;
            const a0 = lo - (lo % 16);
            const a1 = Math.min(this.flash.size, Math.ceil(hi / 16) * 16);
            const plain = cipher.decrypt(a0, this.flash.read(a0, a1 - a0));
            out.set(plain.subarray(lo - a0, hi - a0), lo - address);
        }
        return out;
    }

    /** Reads the flash as stored (ciphertext where encrypted). */
    flashReadRaw(address: number, length: number): Uint8Array {
        return this.flash.read(address, length);
    }

    /** esp_partition_write: encrypts the parts in encrypted regions (16-byte aligned there) when encryption is on. */
    flashWrite(address: number, data: Uint8Array): void {
        const cipher = this.cipher();
        if (!cipher) return this.flash.write(address, data);
        const out = new Uint8Array(data);
        for (const r of this.encryptedRanges()) {
            const lo = Math.max(address, r.offset);
            const hi = Math.min(address + data.length, r.offset + r.size);
            if (lo >= hi) continue;
            if (lo % 16 !== 0 || hi % 16 !== 0) {
                throw new EspError("ESP_ERR_INVALID_ARG", `encrypted write at 0x${lo.toString(16)}..0x${hi.toString(16)} (${r.what}) must be 16-byte aligned`, { offset: lo });
            }
            out.set(cipher.encrypt(lo, data.subarray(lo - address, hi - address)), lo - address);
        }
        this.flash.write(address, out);
    }

    /** esp_partition_write_raw: programs the bytes as given. */
    flashWriteRaw(address: number, data: Uint8Array): void {
        this.flash.write(address, data);
    }

    flashErase(address: number, length: number): void {
        this.flash.erase(address, length);
    }

    /** A partition as esp_partition_* sees it: offsets relative to the partition, crypto transparent. */
    partition(entry: Pick<PartitionEntry, "offset" | "size" | "name">): FlashIo {
        const { offset, size, name } = entry;
        const check = (o: number, l: number, what: string) => {
            if (!Number.isSafeInteger(o) || !Number.isSafeInteger(l) || o < 0 || l < 0 || o + l > size) {
                throw new EspError("ESP_ERR_INVALID_SIZE", `${what} 0x${Number(o).toString(16)}+0x${Number(l).toString(16)} is outside partition ${name} (0x${size.toString(16)} bytes)`);
            }
        };
        return {
            size,
            read: (o, l) => (check(o, l, "read"), this.flashRead(offset + o, l)),
            write: (o, d) => (check(o, d.length, "write"), this.flashWrite(offset + o, d)),
            erase: (o, l) => (check(o, l, "erase"), this.flashErase(offset + o, l)),
        };
    }
}

/** Guesses the chip from the bootloader image header in a plaintext flash image (ESP32 at 0x1000, others at 0x0). */
export function detectChip(image: Uint8Array): ChipName {
    if (image.length >= 0x1010 && image[0] === 0xff && image[0x1000] === 0xe9) return "esp32";
    if (image.length >= 16 && image[0] === 0xe9) return chipByImageId(image[12]! | (image[13]! << 8)) ?? "esp32c3";
    return "esp32c3";
}

/**
 * Gives the eFuses the flash encryption key of a real device whose summary shows the read-protected key block as
 * "??" (`espefuse summary` of a secured chip): `key` as in an espsecure key file (32 bytes XTS-AES-128 / ESP32,
 * 64 bytes XTS-AES-256). The block is found by KEY_PURPOSE (ESP32: BLOCK1).
 */
export function provideFlashEncryptionKey(efuses: Efuses, key: Uint8Array): void {
    const rev = (b: Uint8Array) => new Uint8Array(b).reverse();
    if (efuses.chip.name === "esp32") {
        if (key.length !== 32) throw new EspError("ESP_ERR_INVALID_ARG", `ESP32 flash encryption key must be 32 bytes, got ${key.length}`, { field: "flash-key" });
        efuses.provideProtectedBlock("BLOCK1", rev(key));
        return;
    }
    const blocks = efuses.keyBlocks();
    if (key.length === 64) {
        const k1 = blocks.find(b => b.purpose === "XTS_AES_256_KEY_1");
        const k2 = blocks.find(b => b.purpose === "XTS_AES_256_KEY_2");
        if (!k1 || !k2) throw new EspError("ESP_ERR_NOT_FOUND", "a 64-byte key needs key blocks with purposes XTS_AES_256_KEY_1 and _2 in the eFuses", { field: "flash-key" });
        efuses.provideProtectedBlock(k1.block, rev(key.subarray(0, 32)));
        efuses.provideProtectedBlock(k2.block, rev(key.subarray(32)));
        return;
    }
    if (key.length !== 32) throw new EspError("ESP_ERR_INVALID_ARG", `flash encryption key must be 32 or 64 bytes, got ${key.length}`, { field: "flash-key" });
    const b = blocks.find(x => x.purpose === "XTS_AES_128_KEY");
    if (!b) throw new EspError("ESP_ERR_NOT_FOUND", "no key block with purpose XTS_AES_128_KEY in the eFuses", { field: "flash-key" });
    efuses.provideProtectedBlock(b.block, rev(key));
}
