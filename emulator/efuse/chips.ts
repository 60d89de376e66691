/**
 * The security-relevant eFuse fields per chip, named as espefuse and esp_efuse_table.csv name them.
 * Positions are espefuse's: `word` = bit_start // 32 and `pos` = bit_start % 32 inside the block, `bitLen` = len
 * (espefuse/efuse/mem_definition_base.py), i.e. what `espefuse summary --format json` reports.
 * Checked against (stored copies of public GitHub repositories):
 *  - espressif/esptool espefuse/efuse_defs/esp32.yaml and esp32c3.yaml @ 4c85e9b972f8cb7d29a3243477d234eb6c7e1e41
 *    (esp32 BLOCK3 is not in the yaml: espefuse/efuse/esp32/mem_definition.py builds it as block 3, word 0, pos 0, 256 bits);
 *  - espressif/esp-idf components/efuse/esp32/esp_efuse_table.csv @ 0f8ff5aa153c02d31f0b6f2a4485b0cc4eeed8ec and
 *    components/efuse/esp32c3/esp_efuse_table.csv @ eb31dccbaa7e9c9b880c0208fee584b749f24dea (bit_start/bit_count agree).
 * The C3 layout is used for S3/C6/H2 too: for these fields esptool's esp32s3.yaml (@ 4c85e9b), esp32c6.yaml and
 * esp32h2.yaml (@ 16e4faeeaa3f95c6b24dfdcc498ffc33924d5f5f) give the same positions, except H2's SECURE_VERSION
 * (word 4, pos 9), which is set per chip below. Loading a user's summary goes by name, never by position.
 */

export type ChipName = "esp32" | "esp32c3" | "esp32s3" | "esp32c6" | "esp32h2";
export const CHIPS: readonly ChipName[] = ["esp32", "esp32c3", "esp32s3", "esp32c6", "esp32h2"];

export type EfuseKind = "bool" | "uint" | "bytes" | "keypurpose";

export interface EfuseFieldDef {
    name: string;
    block: number;
    word: number | null;
    pos: number | null;
    bitLen: number;
    kind: EfuseKind;
    category: string;
    description: string;
}

/** KEY_PURPOSE_n values (esp_efuse_purpose_t). */
export const KEY_PURPOSES: ReadonlyArray<readonly [string, number]> = [
    ["USER", 0],
    ["RESERVED", 1],
    ["XTS_AES_256_KEY_1", 2],
    ["XTS_AES_256_KEY_2", 3],
    ["XTS_AES_128_KEY", 4],
    ["HMAC_DOWN_ALL", 5],
    ["HMAC_DOWN_JTAG", 6],
    ["HMAC_DOWN_DIGITAL_SIGNATURE", 7],
    ["HMAC_UP", 8],
    ["SECURE_BOOT_DIGEST0", 9],
    ["SECURE_BOOT_DIGEST1", 10],
    ["SECURE_BOOT_DIGEST2", 11],
    ["KM_INIT_KEY", 12],
];
export const KeyPurpose = Object.fromEntries(KEY_PURPOSES) as Record<string, number>;

export function keyPurposeName(v: number): string {
    return KEY_PURPOSES.find(([, n]) => n === v)?.[0] ?? String(v);
}

function f(name: string, block: number, word: number | null, pos: number | null, bitLen: number, kind: EfuseKind, category: string, description: string): EfuseFieldDef {
    return { name, block, word, pos, bitLen, kind, category, description };
}

const ESP32: EfuseFieldDef[] = [
    f("WR_DIS", 0, 0, 0, 16, "uint", "efuse", "Efuse write disable mask"),
    f("RD_DIS", 0, 0, 16, 4, "uint", "efuse", "Disable reading from BlOCK1-3"),
    f("FLASH_CRYPT_CNT", 0, 0, 20, 7, "uint", "security", "Flash encryption is enabled if this field has an odd number of bits set"),
    f("UART_DOWNLOAD_DIS", 0, 0, 27, 1, "bool", "security", "Disable UART download mode. Valid for ESP32 V3 and newer; only"),
    f("FLASH_CRYPT_CONFIG", 0, 5, 28, 4, "uint", "security", "Flash encryption config (key tweak bits)"),
    f("CODING_SCHEME", 0, 6, 0, 2, "uint", "efuse", "Efuse variable block length scheme"),
    f("CONSOLE_DEBUG_DISABLE", 0, 6, 2, 1, "bool", "security", "Disable ROM BASIC interpreter fallback"),
    f("ABS_DONE_0", 0, 6, 4, 1, "bool", "security", "Secure boot V1 is enabled for bootloader image"),
    f("ABS_DONE_1", 0, 6, 5, 1, "bool", "security", "Secure boot V2 is enabled for bootloader image"),
    f("JTAG_DISABLE", 0, 6, 6, 1, "bool", "security", "Disable JTAG"),
    f("DISABLE_DL_ENCRYPT", 0, 6, 7, 1, "bool", "security", "Disable flash encryption in UART bootloader"),
    f("DISABLE_DL_DECRYPT", 0, 6, 8, 1, "bool", "security", "Disable flash decryption in UART bootloader"),
    f("DISABLE_DL_CACHE", 0, 6, 9, 1, "bool", "security", "Disable flash cache in UART bootloader"),
    f("BLOCK1", 1, 0, 0, 256, "bytes", "security", "Flash encryption key"),
    f("BLOCK2", 2, 0, 0, 256, "bytes", "security", "Security boot key"),
    f("BLOCK3", 3, 0, 0, 256, "bytes", "security", "Variable Block 3"),
    // CONFIG_BOOTLOADER_APP_SEC_VER: ESP-IDF's esp32 table keeps SECURE_VERSION in BLOCK3 (bit_start 128, 32 bits).
    f("SECURE_VERSION", 3, 4, 0, 32, "uint", "security", "Secure version for anti-rollback (esp_efuse_table.csv, BLOCK3)"),
];

/** `secureVersionPos`: SECURE_VERSION's bit in BLOCK0 word 4 (14 on C3/S3/C6, 9 on H2). */
function keyBlockChip(xts256: boolean, secureVersionPos = 14): EfuseFieldDef[] {
    const out: EfuseFieldDef[] = [
        f("WR_DIS", 0, 0, 0, 32, "uint", "config", "Disable programming of individual eFuses"),
        f("RD_DIS", 0, 1, 0, 7, "uint", "config", "Disable reading from BlOCK4-10"),
        f("DIS_DOWNLOAD_MANUAL_ENCRYPT", 0, 1, 20, 1, "bool", "security", "Disables flash encryption when in download boot modes"),
        f("SPI_BOOT_CRYPT_CNT", 0, 2, 18, 3, "uint", "security", "Enables flash encryption when 1 or 3 bits are set and disables otherwise"),
        f("SECURE_BOOT_KEY_REVOKE0", 0, 2, 21, 1, "bool", "security", "Revoke 1st secure boot key"),
        f("SECURE_BOOT_KEY_REVOKE1", 0, 2, 22, 1, "bool", "security", "Revoke 2nd secure boot key"),
        f("SECURE_BOOT_KEY_REVOKE2", 0, 2, 23, 1, "bool", "security", "Revoke 3rd secure boot key"),
        f("KEY_PURPOSE_0", 0, 2, 24, 4, "keypurpose", "security", "Purpose of Key0"),
        f("KEY_PURPOSE_1", 0, 2, 28, 4, "keypurpose", "security", "Purpose of Key1"),
        f("KEY_PURPOSE_2", 0, 3, 0, 4, "keypurpose", "security", "Purpose of Key2"),
        f("KEY_PURPOSE_3", 0, 3, 4, 4, "keypurpose", "security", "Purpose of Key3"),
        f("KEY_PURPOSE_4", 0, 3, 8, 4, "keypurpose", "security", "Purpose of Key4"),
        f("KEY_PURPOSE_5", 0, 3, 12, 4, "keypurpose", "security", "Purpose of Key5"),
        f("SECURE_BOOT_EN", 0, 3, 20, 1, "bool", "security", "Enables secure boot"),
        f("SECURE_BOOT_AGGRESSIVE_REVOKE", 0, 3, 21, 1, "bool", "security", "Enables aggressive secure boot key revocation mode"),
        f("DIS_DOWNLOAD_MODE", 0, 4, 0, 1, "bool", "config", "Disables all download boot modes"),
        f("SECURE_VERSION", 0, 4, secureVersionPos, 16, "uint", "identity", "Secure version (used by ESP-IDF anti-rollback feature)"),
    ];
    for (let i = 0; i < 6; i++) out.push(f(`BLOCK_KEY${i}`, 4 + i, 0, 0, 256, "bytes", "security", `Key${i} or user data`));
    void xts256;
    return out;
}

export interface ChipDef {
    name: ChipName;
    /** espefuse chip name. */
    title: string;
    fields: EfuseFieldDef[];
    /** Flash encryption schemes the chip's hardware has. */
    xtsKeyLengths: number[];
    /** The flash-crypt counter field. */
    cryptCnt: "FLASH_CRYPT_CNT" | "SPI_BOOT_CRYPT_CNT";
}

export const CHIP_DEFS: Record<ChipName, ChipDef> = {
    esp32: { name: "esp32", title: "ESP32", fields: ESP32, xtsKeyLengths: [], cryptCnt: "FLASH_CRYPT_CNT" },
    esp32c3: { name: "esp32c3", title: "ESP32-C3", fields: keyBlockChip(false), xtsKeyLengths: [32], cryptCnt: "SPI_BOOT_CRYPT_CNT" },
    esp32s3: { name: "esp32s3", title: "ESP32-S3", fields: keyBlockChip(true), xtsKeyLengths: [32, 64], cryptCnt: "SPI_BOOT_CRYPT_CNT" },
    esp32c6: { name: "esp32c6", title: "ESP32-C6", fields: keyBlockChip(false), xtsKeyLengths: [32], cryptCnt: "SPI_BOOT_CRYPT_CNT" },
    esp32h2: { name: "esp32h2", title: "ESP32-H2", fields: keyBlockChip(false, 9), xtsKeyLengths: [32], cryptCnt: "SPI_BOOT_CRYPT_CNT" },
};

export function efuseTypeString(d: EfuseFieldDef): string {
    return d.kind === "bool" ? "bool" : d.kind === "bytes" ? `bytes:${d.bitLen / 8}` : `uint:${d.bitLen}`;
}
