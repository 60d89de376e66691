/**
 * ESP-IDF NVS partitions (nvs_flash + nvs_partition_gen): the public API.
 *
 * - csv.ts        the nvs_partition_gen CSV → rows → typed items (no I/O: file rows go through a readFile callback)
 * - generator.ts  items → partition image (byte-exact with nvs_partition_gen 0.2.0, minus its bugs)
 * - layout.ts     the same images for many items of one shape: a recorded layout refilled (NvsImageCache)
 * - encryption.ts AES-256-XTS per entry, nvs_keys partition codec, random and HMAC-derived keys
 * - reader.ts     mountNvs(): the device's read rules over a FlashSource (a .bin or an emulated flash)
 * - flash_storage.ts mountNvsFlash(): read-write mount with nvs_flash's write order, GC and power-loss repair
 * - format.ts     page/entry layout shared by all of them
 */
export { parseNvsCsv, resolveNvsRows, parseCsvInteger, parseFillEncoding, type NvsCsvRow, type NvsItem, type ReadFile } from "./csv.js";
export { generateImage, partitionLayout, type GenerateOptions, type GenerateResult } from "./generator.js";
export { recordLayout, fitsLayout, fillLayout, NvsImageCache, type NvsLayout } from "./layout.js";
export {
    encodeNvsKeys,
    decodeNvsKeys,
    randomNvsKeys,
    deriveNvsKeysFromHmac,
    encryptEntry,
    decryptEntry,
    encryptImage,
    decryptImage,
    NVS_KEYS_PARTITION_SIZE,
    type NvsKeys,
} from "./encryption.js";
export {
    mountNvs,
    plaintextItemStats,
    looksNvsEncrypted,
    bytesSource,
    NvsStorage,
    NvsHandle,
    type FlashSource,
    type MountOptions,
    type NvsPageInfo,
    type NvsEntryView,
    type NvsProblem,
    type NvsTypeName,
} from "./reader.js";
export {
    mountNvsFlash,
    NvsFlash,
    NvsFlashHandle,
    type WritableFlash,
    type FlashMountOptions,
    type NvsValueType,
    type NvsFlashStats,
} from "./flash_storage.js";
export { PAGE_SIZE, ENTRIES_PER_PAGE, ENTRY_SIZE, ItemType, PageState, type IntTypeName, type PageStateName } from "./format.js";

import { DiagnosticError } from "../esp_common/err.js";
import { parseNvsCsv, resolveNvsRows, type ReadFile } from "./csv.js";
import { generateImage, type GenerateOptions, type GenerateResult } from "./generator.js";

/** CSV text → image in one call (the CLI's `nvs generate` / `nvs encrypt`). */
export function generateFromCsv(text: string, options: GenerateOptions & { readFile?: ReadFile; file?: string }): GenerateResult {
    const rows = parseNvsCsv(text, options.file);
    const items = resolveNvsRows(rows, { readFile: options.readFile, file: options.file });
    try {
        return generateImage(items, options);
    } catch (e) {
        if (e instanceof DiagnosticError && options.file !== undefined) throw e.withContext({ file: options.file });
        throw e;
    }
}
