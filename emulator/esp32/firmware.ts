/**
 * What the Matter app does after the bootloader jumped to it (esp-matter's app_main → esp_matter::start):
 * print the app information (esp_app_desc_t), read the chip-factory data through ESP32FactoryDataProvider — the
 * factory NVS partition found through the partition table by label (nvs_flash_init_partition), decrypted with
 * the nvs_keys partition when CONFIG_NVS_ENCRYPTION, or the DAC from esp_secure_cert with
 * CONFIG_SEC_CERT_DAC_PROVIDER — validate it, and start the Matter device on loopback.
 */
import { randomBytes } from "node:crypto";
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { applyOtadataWrites, markAppWrites } from "../app_update/index.js";
import { DataSubtype, type PartitionEntry, PartitionType } from "../esp_partition/index.js";
import { type FactoryDataResult, type FactoryRead, readFactoryData } from "../esp_matter/factory_data_provider.js";
// Static on purpose: a dynamic import() of the device module under tsx can instantiate a second copy of
// matter.js (different behavior classes), which breaks behaviors other modules add to the same node.
import { startDevice, validateFactoryData, type DeviceFactoryData, type DeviceOptions, type DeviceStorageBackend, type DeviceTypeName, type FirmwareInfo, type RunningDevice } from "../device/index.js";
import { encodeNvsKeys, type FlashSource } from "../nvs/index.js";
import { BootLog } from "./boot_log.js";
import type { BootResult } from "./bootloader.js";
import type { VirtualEsp32 } from "./chip.js";
import { ESP_SECURE_CERT_TYPE } from "./flash_layout.js";

export interface FirmwareOptions {
    /** CONFIG_CHIP_FACTORY_NAMESPACE_PARTITION_LABEL (default "fctry"). */
    factoryPartitionLabel?: string;
    /** CONFIG_SEC_CERT_DAC_PROVIDER: "secure-cert" reads DAC/key/PAI from esp_secure_cert. Default "nvs". */
    dacProvider?: "nvs" | "secure-cert";
    /** Where discriminator/verifier/salt come from (default "nvs"). */
    commissionableDataProvider?: "nvs" | "secure-cert";
    /** CONFIG_NVS_ENCRYPTION: true / false, or "auto" (default): on when an nvs_keys partition holds keys. */
    nvsEncryption?: boolean | "auto";
    /** Start the matter.js device (default true). false: read and validate the factory data only. */
    startDevice?: boolean;
    /** UDP port on 127.0.0.1 / ::1 (0 = any free port). Default 5540. */
    port?: number;
    /** The device's persistent storage (default: a fresh in-memory store). */
    storage?: DeviceStorageBackend;
    deviceType?: DeviceTypeName;
    /** Extra root-endpoint behaviors of the Matter device (the OTA requestor); see DeviceOptions.rootBehaviors. */
    rootBehaviors?: DeviceOptions["rootBehaviors"];
    /** See DeviceOptions.configureEnvironment. */
    configureEnvironment?: DeviceOptions["configureEnvironment"];
    /** See DeviceOptions.networkFaults. */
    networkFaults?: DeviceOptions["networkFaults"];
    /** Software version when esp_app_desc_t has none usable (CONFIG_DEVICE_SOFTWARE_VERSION_NUMBER default 0). */
    defaultSoftwareVersion?: number;
    /** The chip's random numbers (esp_fill_random), e.g. for the NVS keys it generates; default: the OS CSPRNG. Seeded in scenarios so a run replays. */
    randomBytes?: (n: number) => Uint8Array;
}

export interface FirmwareResult {
    ok: boolean;
    /** The whole console: the bootloader's lines then the app's. */
    log: string[];
    firmware?: FirmwareInfo;
    /** Where the factory data came from. */
    factoryPartition?: { label: string; offset: number; size: number };
    /** Every chip-factory read (key, source, ok, error). */
    reads: FactoryRead[];
    /** The first fatal error (ESP_ERR_NVS_PART_NOT_FOUND, ESP_ERR_NVS_NOT_FOUND, DacVendorIdMismatch, …). */
    error?: { code: string; message: string };
    /** Factory data as read (complete when ok). */
    factoryData?: Partial<DeviceFactoryData>;
    device?: RunningDevice;
    /** UDP port the device serves on. */
    port?: number;
}

const DL = "chip[DL]";

function isBlank(b: Uint8Array): boolean {
    return b.every(x => x === 0xff);
}

/** A FlashSource over a partition of the chip (esp_partition_read: decrypted when the partition is encrypted). */
export function partitionSource(chip: VirtualEsp32, p: Pick<PartitionEntry, "offset" | "size">): FlashSource {
    return { size: p.size, read: (o, l) => chip.flashRead(p.offset + o, l) };
}

/** The app's console lines about itself (esp_app_desc_t), like cpu_start / app_init print them. */
function appBanner(log: BootLog, chip: VirtualEsp32, boot: BootResult): void {
    const d = boot.app!.appDesc;
    log.i("cpu_start", chip.chip === "esp32" ? "Multicore app" : "Unicore app");
    log.i("cpu_start", "Pro cpu start user code");
    log.i("app_init", "Application information:");
    log.i("app_init", `Project name:     ${d.projectName}`);
    log.i("app_init", `App version:      ${d.version}`);
    if (boot.app!.secureVersion > 0 || chip.efuses.secureVersion() > 0) log.i("app_init", `Secure version:   ${d.secureVersion}`);
    log.i("app_init", `Compile time:     ${d.date} ${d.time}`);
    log.i("app_init", `ELF file SHA256:  ${d.appElfSha256.slice(0, 16)}...`);
    log.i("app_init", `ESP-IDF:          ${d.idfVer}`);
    if (chip.flashEncryption && chip.efuses.flashEncryptionMode() === "development") log.w("flash_encrypt", "Flash encryption mode is DEVELOPMENT (not secure)");
    if (chip.efuses.secureBootEnabled()) log.i("secure_boot", "Secure boot V2 is enabled");
    log.i("main_task", "Started on CPU0");
    log.i("main_task", "Calling app_main()");
}

/**
 * Runs the app the bootloader picked. Never throws for bad factory data: `ok: false` with the error the firmware
 * logs. Throws only for programming errors or a port already in use (the device's own start error).
 */
export async function startFirmware(chip: VirtualEsp32, boot: BootResult, options: FirmwareOptions = {}): Promise<FirmwareResult> {
    const log = boot.console;
    if (!boot.ok || !boot.app) {
        return { ok: false, log: log.lines, reads: [], error: boot.error ?? { code: "ESP_FAIL", message: "the bootloader did not start an app" } };
    }
    appBanner(log, chip, boot);
    const d = boot.app.appDesc;
    const firmware: FirmwareInfo = {
        softwareVersion: d.matterSoftwareVersion ?? options.defaultSoftwareVersion ?? 0,
        softwareVersionString: d.version.length > 0 ? d.version : "0.0",
    };
    const table = chip.partitionTable;
    const label = options.factoryPartitionLabel ?? "fctry";
    const done = (r: Omit<FirmwareResult, "log">): FirmwareResult => ({ log: log.lines, ...r });

    // nvs_flash_init_partition(label): a data/nvs partition with that label
    const fctry = table.find(p => p.type === PartitionType.DATA && p.subtype === DataSubtype.NVS && p.name === label);
    const factoryPartition = fctry ? { label: fctry.name, offset: fctry.offset, size: fctry.size } : undefined;

    let nvsKeysPartition: Uint8Array | undefined;
    const keysPart = table.find(p => p.type === PartitionType.DATA && p.subtype === DataSubtype.NVS_KEYS);
    // nvs_keys never written (all 0xFF, also on a flash-encrypted chip: erased flash is not decrypted)
    const keysBlank = keysPart !== undefined && isBlank(chip.flashReadRaw(keysPart.offset, 64));
    let nvsEncryption = options.nvsEncryption ?? "auto";
    if (nvsEncryption === "auto") nvsEncryption = keysPart !== undefined && !keysBlank;
    if (nvsEncryption && !keysPart) {
        log.e("nvs", "nvs_flash_read_security_cfg: no nvs_keys partition (ESP_ERR_NOT_FOUND)");
        const error = new EspError("ESP_ERR_NOT_FOUND", "CONFIG_NVS_ENCRYPTION: no data/nvs_keys partition in the partition table", { field: "nvs_keys" });
        return done({ ok: false, firmware, reads: [], error: { code: error.code, message: error.message }, ...(factoryPartition ? { factoryPartition } : {}) });
    }
    if (nvsEncryption && keysPart) {
        if (keysBlank) {
            // ESP32Config::Init: nvs_flash_read_security_cfg says ESP_ERR_NVS_KEYS_NOT_INITIALIZED, so the firmware runs
            // nvs_flash_generate_keys and stores fresh keys: a factory image encrypted with other keys is unreadable
            log.i(DL, "NVS key partition empty");
            const random = options.randomBytes ?? (n => new Uint8Array(randomBytes(n)));
            chip.flashWrite(keysPart.offset, encodeNvsKeys({ eky: random(32), tky: random(32) }));
        }
        nvsKeysPartition = chip.flashRead(keysPart.offset, Math.min(keysPart.size, 4096));
    }
    const secureCertPart = table.find(p => p.type === ESP_SECURE_CERT_TYPE);
    const needSecureCert = options.dacProvider === "secure-cert" || options.commissionableDataProvider === "secure-cert";
    const secureCert = needSecureCert && secureCertPart ? chip.flashRead(secureCertPart.offset, secureCertPart.size) : undefined;

    log.advance(8); // nvs_flash_init_partition: scan the pages
    const result: FactoryDataResult = readFactoryData({
        ...(fctry ? { nvs: partitionSource(chip, fctry) } : {}),
        ...(nvsKeysPartition ? { nvsKeysPartition } : {}),
        ...(secureCert ? { secureCert } : {}),
        partitionLabel: label,
        dacProvider: options.dacProvider ?? "nvs",
        commissionableDataProvider: options.commissionableDataProvider ?? "nvs",
    });

    // the console: one line per failed read, or one for the partition when nothing could be read from it
    const nvsReads = result.reads.filter(r => r.source === "nvs");
    const failedNvs = nvsReads.filter(r => !r.ok);
    const sameError = failedNvs.length === nvsReads.length && nvsReads.length > 0 && failedNvs.every(r => r.error === failedNvs[0]!.error);
    if (sameError) {
        const code = failedNvs[0]!.error!;
        // NOT_FOUND everywhere: the partition mounted but nothing decodes (e.g. plaintext image, NVS encryption on)
        if (code !== "ESP_ERR_NVS_NOT_FOUND" && code !== "ESP_ERR_NVS_TYPE_MISMATCH") log.e(DL, `nvs_flash_init_partition(${label}) failed: ${code}`);
        log.e(DL, `${code} reading ${failedNvs[0]!.key} from ${label} (and every other chip-factory key): no factory data`);
    }
    for (const r of result.reads) {
        if (r.ok || (sameError && r.source === "nvs")) continue;
        const where = r.source === "nvs" ? `from ${label}` : "from esp_secure_cert";
        log.log(r.mandatory ? "E" : "D", DL, `${r.error} reading ${r.key} ${where}`);
    }
    if (result.error) {
        log.e("esp_matter_core", `Failed to initialize the factory data provider: ${result.error.code}; commissioning window not opened`);
        return done({
            ok: false,
            firmware,
            reads: result.reads,
            factoryData: result.data,
            error: { code: result.error.code, message: result.error.message },
            ...(factoryPartition ? { factoryPartition } : {}),
        });
    }

    // ConfigurationMgr().LogDeviceConfig()
    const fd = result.data as DeviceFactoryData;
    const hex4 = (n: number) => `0x${n.toString(16).toUpperCase().padStart(4, "0")}`;
    log.i("chip[SVR]", "Device Configuration:");
    if (fd.serialNumber !== undefined) log.i("chip[SVR]", `  Serial Number: ${fd.serialNumber}`);
    log.i("chip[SVR]", `  Vendor Id: ${fd.vendorId} (${hex4(fd.vendorId)})`);
    log.i("chip[SVR]", `  Product Id: ${fd.productId} (${hex4(fd.productId)})`);
    if (fd.productName !== undefined) log.i("chip[SVR]", `  Product Name: ${fd.productName}`);
    if (fd.hardwareVersion !== undefined) log.i("chip[SVR]", `  Hardware Version: ${fd.hardwareVersion}`);
    log.i("chip[SVR]", `  Setup Discriminator: ${fd.discriminator} (0x${fd.discriminator.toString(16).toUpperCase()})`);
    if (fd.manufacturingDate !== undefined) log.i("chip[SVR]", `  Manufacturing Date: ${fd.manufacturingDate}`);
    log.i("chip[SVR]", `  Software Version: ${firmware.softwareVersion} (${firmware.softwareVersionString})`);

    try {
        validateFactoryData(fd, firmware);
    } catch (e) {
        if (!(e instanceof DiagnosticError)) throw e;
        log.e(DL, `${e.code}: ${e.message}`);
        log.e("esp_matter_core", `Factory data rejected: ${e.code}; commissioning window not opened`);
        return done({ ok: false, firmware, reads: result.reads, factoryData: fd, error: { code: e.code, message: e.message }, ...(factoryPartition ? { factoryPartition } : {}) });
    }
    if (options.startDevice === false) {
        log.i("esp_matter_core", "Factory data valid (device not started)");
        return done({ ok: true, firmware, reads: result.reads, factoryData: fd, ...(factoryPartition ? { factoryPartition } : {}) });
    }
    let storage = options.storage;
    if (storage === undefined) {
        const nvs = await openDefaultNvs(chip, log, nvsKeysPartition);
        if ("error" in nvs) {
            return done({ ok: false, firmware, reads: result.reads, factoryData: fd, error: nvs.error, ...(factoryPartition ? { factoryPartition } : {}) });
        }
        storage = nvs.storage;
    }
    let running: RunningDevice;
    try {
        running = await startDevice({
            factoryData: fd,
            firmware,
            storage,
            port: options.port ?? 5540,
            ...(options.deviceType ? { deviceType: options.deviceType } : {}),
            ...(options.rootBehaviors ? { rootBehaviors: options.rootBehaviors } : {}),
            ...(options.configureEnvironment ? { configureEnvironment: options.configureEnvironment } : {}),
            ...(options.networkFaults ? { networkFaults: options.networkFaults } : {}),
        });
    } catch (e) {
        if (!(e instanceof DiagnosticError)) throw e;
        log.e("esp_matter_core", `${e.code}: ${e.message}`);
        return done({ ok: false, firmware, reads: result.reads, factoryData: fd, error: { code: e.code, message: e.message }, ...(factoryPartition ? { factoryPartition } : {}) });
    }
    log.i("chip[SVR]", `Server Listening on UDP port ${running.port} (127.0.0.1, ::1)`);
    log.i("chip[DIS]", `Advertise commission parameter vendorID=${fd.vendorId} productID=${fd.productId} discriminator=${fd.discriminator}/${fd.discriminator >> 8} cm=1`);
    log.i("chip[SVR]", "Commissioning window open (basic, PASE with the factory verifier)");
    return done({ ok: true, firmware, reads: result.reads, factoryData: fd, device: running, port: running.port, ...(factoryPartition ? { factoryPartition } : {}) });
}

/**
 * app_main's nvs_flash_init() on the default `nvs` partition, which holds the Matter KVS (fabrics, ACLs, counters):
 * like the esp-matter examples, ESP_ERR_NVS_NO_FREE_PAGES / ESP_ERR_NVS_NEW_VERSION_FOUND erase the partition and
 * retry. With NVS encryption the same nvs_keys protect it.
 */
async function openDefaultNvs(chip: VirtualEsp32, log: BootLog, nvsKeysPartition: Uint8Array | undefined): Promise<{ storage: DeviceStorageBackend } | { error: { code: string; message: string } }> {
    const entry = chip.partitionTable.find(p => p.type === PartitionType.DATA && p.subtype === DataSubtype.NVS && p.name === "nvs");
    if (!entry) {
        log.e("nvs", "nvs_flash_init: partition \"nvs\" not found (ESP_ERR_NVS_PART_NOT_FOUND)");
        return { error: { code: "ESP_ERR_NVS_PART_NOT_FOUND", message: "nvs_flash_init: no data/nvs partition labelled \"nvs\" for the Matter KVS" } };
    }
    const { NvsStorageBackend } = await import("../esp_matter/kvs.js");
    const { decodeNvsKeys } = await import("../nvs/index.js");
    const io = chip.partition(entry);
    const keys = nvsKeysPartition ? decodeNvsKeys(nvsKeysPartition) : undefined;
    try {
        return { storage: new NvsStorageBackend(io, { keys, file: "nvs" }) };
    } catch (e) {
        if (!(e instanceof EspError) || (e.code !== "ESP_ERR_NVS_NO_FREE_PAGES" && e.code !== "ESP_ERR_NVS_NEW_VERSION_FOUND")) {
            if (!(e instanceof DiagnosticError)) throw e;
            log.e("nvs", `nvs_flash_init failed: ${e.code}`);
            return { error: { code: e.code, message: e.message } };
        }
        log.w("nvs", `nvs_flash_init: ${e.code}, erasing the nvs partition`);
        io.erase(0, entry.size);
        return { storage: new NvsStorageBackend(io, { keys, file: "nvs" }) };
    }
}

/** esp_ota_mark_app_valid_cancel_rollback(): the running OTA app confirms itself (otadata entry → VALID). */
export function markAppValid(chip: VirtualEsp32, valid = true): void {
    const otadata = chip.partitionTable.find(p => p.type === PartitionType.DATA && p.subtype === DataSubtype.OTA);
    if (!otadata) throw new EspError("ESP_ERR_NOT_FOUND", "no otadata partition");
    const io = chip.partition(otadata);
    applyOtadataWrites(io, markAppWrites(io.read(0, 0x2000), valid));
}
