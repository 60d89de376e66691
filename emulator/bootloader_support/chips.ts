/**
 * The chips an app image can target (esp_app_format.h `esp_chip_id_t`) and the few per-chip facts the image
 * code needs: the flash-mapped address windows (soc.h SOC_IROM_* / SOC_DROM_*, used by esp_image_format.c
 * `should_map`), where the synthetic image puts its segments, and the build defaults idf.py would use.
 */
import { DiagnosticError } from "../esp_common/err.js";

export type ChipName = "esp32" | "esp32s2" | "esp32c3" | "esp32s3" | "esp32c2" | "esp32c6" | "esp32h2";

export interface ChipInfo {
    name: ChipName;
    /** esp_chip_id_t */
    id: number;
    /** Flash-mapped windows [low, high): segments here are mapped by the MMU, not loaded. */
    mapped: ReadonlyArray<readonly [number, number]>;
    /** Load address of the synthetic image's DROM segment (esp_app_desc_t first, 0x20 into a 64 KiB page). */
    dromLoad: number;
    /** Load address of the synthetic image's IRAM segment. */
    iramLoad: number;
    /** Defaults of a plain `idf.py build`: header min_chip_rev (major), min/max_chip_rev_full (major*100+minor). */
    minChipRev: number;
    minChipRevFull: number;
    maxChipRevFull: number;
    /** CONFIG_MMU_PAGE_SIZE as log2 (esp_app_desc_t.mmu_page_size). */
    mmuPageSizeLog2: number;
}

export const CHIPS: Readonly<Record<ChipName, ChipInfo>> = {
    esp32: {
        name: "esp32", id: 0x0000,
        mapped: [[0x400d0000, 0x40400000], [0x3f400000, 0x3f800000]],
        dromLoad: 0x3f400020, iramLoad: 0x40080000,
        minChipRev: 0, minChipRevFull: 0, maxChipRevFull: 399, mmuPageSizeLog2: 16,
    },
    esp32s2: {
        name: "esp32s2", id: 0x0002,
        mapped: [[0x40080000, 0x40800000], [0x3f000000, 0x3ff80000]],
        dromLoad: 0x3f000020, iramLoad: 0x40022000,
        minChipRev: 0, minChipRevFull: 0, maxChipRevFull: 199, mmuPageSizeLog2: 16,
    },
    esp32c3: {
        name: "esp32c3", id: 0x0005,
        mapped: [[0x42000000, 0x42800000], [0x3c000000, 0x3c800000]],
        dromLoad: 0x3c000020, iramLoad: 0x40380000,
        minChipRev: 3, minChipRevFull: 3, maxChipRevFull: 199, mmuPageSizeLog2: 16,
    },
    esp32s3: {
        name: "esp32s3", id: 0x0009,
        mapped: [[0x42000000, 0x44000000], [0x3c000000, 0x3e000000]],
        dromLoad: 0x3c000020, iramLoad: 0x40378000,
        minChipRev: 0, minChipRevFull: 0, maxChipRevFull: 99, mmuPageSizeLog2: 16,
    },
    esp32c2: {
        name: "esp32c2", id: 0x000c,
        mapped: [[0x42000000, 0x42400000], [0x3c000000, 0x3c400000]],
        dromLoad: 0x3c000020, iramLoad: 0x40380000,
        minChipRev: 1, minChipRevFull: 1, maxChipRevFull: 199, mmuPageSizeLog2: 16,
    },
    esp32c6: {
        name: "esp32c6", id: 0x000d,
        mapped: [[0x42000000, 0x43000000]],
        dromLoad: 0x42010020, iramLoad: 0x40800000,
        minChipRev: 0, minChipRevFull: 0, maxChipRevFull: 99, mmuPageSizeLog2: 16,
    },
    esp32h2: {
        name: "esp32h2", id: 0x0010,
        mapped: [[0x42000000, 0x42800000]],
        dromLoad: 0x42010020, iramLoad: 0x40800000,
        minChipRev: 0, minChipRevFull: 0, maxChipRevFull: 99, mmuPageSizeLog2: 15,
    },
};

export const CHIP_NAMES = Object.keys(CHIPS) as ChipName[];

/** The chip with this esp_chip_id_t, or undefined (ESP32-P4 and newer chips are not modelled). */
export function chipById(id: number): ChipInfo | undefined {
    return Object.values(CHIPS).find(c => c.id === id);
}

/** Resolves a chip name ("esp32c3", case-insensitive, "ESP32-C3" too) or id to its info. */
export function chipInfo(chip: ChipName | string | number): ChipInfo {
    if (typeof chip === "number") {
        const c = chipById(chip);
        if (c) return c;
        throw new DiagnosticError("ESP_ERR_INVALID_ARG", `unknown chip id 0x${chip.toString(16)}`, { field: "chip" });
    }
    const key = chip.toLowerCase().replace(/-/g, "") as ChipName;
    const c = CHIPS[key];
    if (!c) throw new DiagnosticError("ESP_ERR_INVALID_ARG", `unknown chip '${chip}' (known: ${CHIP_NAMES.join(", ")})`, { field: "chip" });
    return c;
}

/** esp_image_format.c should_map(): the address is in a flash-mapped (IROM/DROM) window of this chip. */
export function isMappedAddress(chip: ChipInfo, addr: number): boolean {
    return chip.mapped.some(([lo, hi]) => addr >= lo && addr < hi);
}
