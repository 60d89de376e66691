/**
 * esp_partition: the partition table (CSV ⇄ binary like gen_esp32part.py, the bootloader's binary checks) and
 * esp_partition_find()-style lookups.
 */
export * from "./types.js";
export {
    PartitionTableError,
    parsePartitionCsv,
    partitionTableToCsv,
    verifyPartitionTable,
    verifySizeFits,
    tableFlashEnd,
    pyInt0,
    type CsvOptions,
} from "./csv.js";
export { encodePartitionTable, decodePartitionTable, looksLikePartitionBinary, type EncodeOptions, type DecodeOptions, type DecodedPartitionTable } from "./binary.js";
import { type PartitionEntry, PartitionType, SUBTYPE_NAMES, TYPE_NAMES, isOtaAppSubtype } from "./types.js";

/** ESP_PARTITION_SUBTYPE_ANY */
export const SUBTYPE_ANY = 0xff;

/**
 * esp_partition_find(): entries of `type` (number or "app"/"data") whose subtype matches (number, keyword, or
 * SUBTYPE_ANY) and, when given, whose label matches; in table order.
 */
export function findPartitions(
    table: readonly PartitionEntry[],
    type: number | string,
    subtype: number | string = SUBTYPE_ANY,
    label?: string,
): PartitionEntry[] {
    const t = typeof type === "number" ? type : (TYPE_NAMES.find(([k]) => k === type)?.[1] ?? NaN);
    const s =
        typeof subtype === "number" ? subtype : subtype === "any" ? SUBTYPE_ANY : (SUBTYPE_NAMES.get(t)?.find(([k]) => k === subtype)?.[1] ?? NaN);
    return table.filter(e => e.type === t && (s === SUBTYPE_ANY || e.subtype === s) && (label === undefined || e.name === label));
}

/** esp_partition_find_first(): the first match, or undefined. `subtypeOrLabel` may be a label when it is not a known subtype. */
export function findPartition(
    table: readonly PartitionEntry[],
    type: number | string,
    subtypeOrLabel: number | string = SUBTYPE_ANY,
    label?: string,
): PartitionEntry | undefined {
    if (typeof subtypeOrLabel === "string" && label === undefined) {
        const t = typeof type === "number" ? type : TYPE_NAMES.find(([k]) => k === type)?.[1];
        const known = subtypeOrLabel === "any" || (t !== undefined && SUBTYPE_NAMES.get(t)?.some(([k]) => k === subtypeOrLabel));
        if (!known) return findPartitions(table, type, SUBTYPE_ANY, subtypeOrLabel)[0];
    }
    return findPartitions(table, type, subtypeOrLabel, label)[0];
}

/** The OTA app slots ota_0..ota_15 present in the table, sorted by slot number. */
export function otaAppPartitions(table: readonly PartitionEntry[]): PartitionEntry[] {
    return table.filter(e => e.type === PartitionType.APP && isOtaAppSubtype(e.subtype)).sort((a, b) => a.subtype - b.subtype);
}

/** Label-free entry shape used by the CLI JSON: numbers as numbers, type/subtype as keywords when known. */
export function entryJson(e: PartitionEntry): { name: string; type: string; subtype: string; offset: number; size: number; flags: string[] } {
    const type = TYPE_NAMES.find(([, v]) => v === e.type)?.[0] ?? `0x${e.type.toString(16)}`;
    const subtype = SUBTYPE_NAMES.get(e.type)?.find(([, v]) => v === e.subtype)?.[0] ?? `0x${e.subtype.toString(16)}`;
    const flags: string[] = [];
    if (e.encrypted) flags.push("encrypted");
    if (e.readonly) flags.push("readonly");
    return { name: e.name, type, subtype, offset: e.offset, size: e.size, flags };
}
