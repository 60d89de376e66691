/**
 * Partition types, subtypes and flags as ESP-IDF names them (components/esp_partition/include/esp_partition.h,
 * components/partition_table/gen_esp32part.py). Name lookups keep gen_esp32part's dictionary order, which
 * decides the keyword written back to CSV.
 */

export const PARTITION_TABLE_OFFSET = 0x8000;
/** The table occupies one 4 KiB sector. */
export const PARTITION_TABLE_SIZE = 0x1000;
/** Rows + MD5 row must stay below this; the rest of the sector is for a signature. */
export const MAX_PARTITION_LENGTH = 0xc00;
export const PARTITION_ENTRY_SIZE = 32;
export const PARTITION_MAGIC = 0x50aa; // bytes AA 50
export const MD5_MAGIC = 0xebeb;
export const NVS_RW_MIN_PARTITION_SIZE = 0x3000;
export const OTADATA_SIZE = 0x2000;

export const PartitionType = {
    APP: 0x00,
    DATA: 0x01,
    BOOTLOADER: 0x02,
    PARTITION_TABLE: 0x03,
} as const;

export const AppSubtype = {
    FACTORY: 0x00,
    OTA_MIN: 0x10,
    OTA_MAX: 0x1f,
    TEST: 0x20,
    TEE_0: 0x30,
    TEE_1: 0x31,
} as const;

export const DataSubtype = {
    OTA: 0x00,
    PHY: 0x01,
    NVS: 0x02,
    COREDUMP: 0x03,
    NVS_KEYS: 0x04,
    EFUSE: 0x05,
    UNDEFINED: 0x06,
    ESPHTTPD: 0x80,
    FAT: 0x81,
    SPIFFS: 0x82,
    LITTLEFS: 0x83,
    TEE_OTA: 0x90,
    TEE_SEC_STG: 0x91,
} as const;

/** CSV keyword → type, in gen_esp32part's order. */
export const TYPE_NAMES: ReadonlyArray<readonly [string, number]> = [
    ["bootloader", PartitionType.BOOTLOADER],
    ["partition_table", PartitionType.PARTITION_TABLE],
    ["app", PartitionType.APP],
    ["data", PartitionType.DATA],
];

const appSubtypes: Array<[string, number]> = [
    ["factory", AppSubtype.FACTORY],
    ["test", AppSubtype.TEST],
];
for (let i = 0; i < 16; i++) appSubtypes.push([`ota_${i}`, AppSubtype.OTA_MIN + i]);
appSubtypes.push(["tee_0", AppSubtype.TEE_0], ["tee_1", AppSubtype.TEE_1]);

/** CSV keyword → subtype per type, in gen_esp32part's order. */
export const SUBTYPE_NAMES: ReadonlyMap<number, ReadonlyArray<readonly [string, number]>> = new Map([
    [PartitionType.BOOTLOADER, [["primary", 0x00], ["ota", 0x01], ["recovery", 0x02]] as const],
    [PartitionType.PARTITION_TABLE, [["primary", 0x00], ["ota", 0x01]] as const],
    [PartitionType.APP, appSubtypes],
    [
        PartitionType.DATA,
        [
            ["ota", DataSubtype.OTA],
            ["phy", DataSubtype.PHY],
            ["nvs", DataSubtype.NVS],
            ["coredump", DataSubtype.COREDUMP],
            ["nvs_keys", DataSubtype.NVS_KEYS],
            ["efuse", DataSubtype.EFUSE],
            ["undefined", DataSubtype.UNDEFINED],
            ["esphttpd", DataSubtype.ESPHTTPD],
            ["fat", DataSubtype.FAT],
            ["spiffs", DataSubtype.SPIFFS],
            ["littlefs", DataSubtype.LITTLEFS],
            ["tee_ota", DataSubtype.TEE_OTA],
            ["tee_sec_stg", DataSubtype.TEE_SEC_STG],
        ] as const,
    ],
]);

/** Flag name → bit in the flags word. */
export const FLAG_BITS = { encrypted: 0, readonly: 1 } as const;
export type FlagName = keyof typeof FLAG_BITS;

/** One row of the table (esp_partition_info_t). */
export interface PartitionEntry {
    name: string;
    type: number;
    subtype: number;
    offset: number;
    size: number;
    encrypted: boolean;
    readonly: boolean;
    /** Flag bits other than encrypted/readonly found in a binary (kept so a round trip is lossless). */
    unknownFlags?: number;
    /** 1-based CSV line the row came from. */
    line?: number;
}

export function typeName(type: number): string | undefined {
    return TYPE_NAMES.find(([, v]) => v === type)?.[0];
}

export function subtypeName(type: number, subtype: number): string | undefined {
    return SUBTYPE_NAMES.get(type)?.find(([, v]) => v === subtype)?.[0];
}

export function flagNames(e: Pick<PartitionEntry, "encrypted" | "readonly">): FlagName[] {
    const out: FlagName[] = [];
    if (e.encrypted) out.push("encrypted");
    if (e.readonly) out.push("readonly");
    return out;
}

export function flagsWord(e: Pick<PartitionEntry, "encrypted" | "readonly" | "unknownFlags">): number {
    return ((e.encrypted ? 1 : 0) | (e.readonly ? 2 : 0) | (e.unknownFlags ?? 0)) >>> 0;
}

export function isOtaAppSubtype(subtype: number): boolean {
    return subtype >= AppSubtype.OTA_MIN && subtype <= AppSubtype.OTA_MAX;
}
