/**
 * esp-matter's ESP32FactoryDataProvider (connectedhomeip src/platform/ESP32/ESP32FactoryDataProvider.cpp,
 * ESP32SecureCertDataProvider.cpp): reads the `chip-factory` namespace of the factory NVS partition — plain or
 * NVS-encrypted with the nvs_keys partition — or, with CONFIG_SEC_CERT_DAC_PROVIDER, the DAC (and optionally the
 * commissionable data) from the esp_secure_cert partition, and turns it into the `DeviceFactoryData` the
 * firmware boots from.
 *
 * Every read is recorded (key, NVS type, outcome) so the boot log and `diagnose` can say exactly what the
 * firmware saw: "ESP_ERR_NVS_NOT_FOUND reading dac-cert from fctry". A mandatory key that cannot be read stops the
 * boot with that EspError; an optional one is simply absent, as on the device.
 */
import { DiagnosticError, EspError } from "../esp_common/err.js";
import type { DeviceFactoryData } from "../device/factory-data.js";
import { decodeNvsKeys, mountNvs, type FlashSource, type NvsKeys, type NvsStorage } from "../nvs/index.js";
import { getDacCert, getDacKey, getMatterData, getPaiCert, MatterSubtype } from "../esp_secure_cert/index.js";

export const CHIP_FACTORY_NAMESPACE = "chip-factory";

export type FactoryValueType = "u32" | "string" | "blob" | "base64";

/** One chip-factory key read by the provider: what the device asked for and what it got. */
export interface FactoryRead {
    key: string;
    type: FactoryValueType;
    source: "nvs" | "esp_secure_cert";
    ok: boolean;
    /** ESP-IDF error name when the read failed (ESP_ERR_NVS_NOT_FOUND, ESP_ERR_NVS_TYPE_MISMATCH, …). */
    error?: string;
    mandatory: boolean;
}

export interface FactoryDataSources {
    /** The factory NVS partition (`fctry` by default), as bytes or a view of the emulated flash. */
    nvs?: FlashSource | Uint8Array;
    /** The raw nvs_keys partition when the device uses NVS encryption (CONFIG_NVS_ENCRYPTION). */
    nvsKeysPartition?: Uint8Array;
    /** Already decoded keys (instead of nvsKeysPartition). */
    nvsKeys?: NvsKeys;
    /** The esp_secure_cert partition. */
    secureCert?: Uint8Array;
    /** CONFIG_CHIP_FACTORY_NAMESPACE_PARTITION_LABEL, for messages. Default "fctry". */
    partitionLabel?: string;
    /** Where the firmware takes the DAC, its key and the PAI from (CONFIG_SEC_CERT_DAC_PROVIDER). Default "nvs". */
    dacProvider?: "nvs" | "secure-cert";
    /** Where discriminator/verifier/salt/iterations come from (CONFIG_ENABLE_ESP32_FACTORY_DATA_PROVIDER vs secure cert). */
    commissionableDataProvider?: "nvs" | "secure-cert";
}

export interface FactoryDataResult {
    /** Complete when `error` is undefined. */
    data: Partial<DeviceFactoryData>;
    reads: FactoryRead[];
    /** The first mandatory read that failed, as the firmware reports it. */
    error?: EspError | DiagnosticError;
}

interface KeySpec {
    field: keyof DeviceFactoryData;
    key: string;
    type: FactoryValueType;
    mandatory: boolean;
    group: "commissionable" | "attestation" | "instance";
}

/** The keys ESP32FactoryDataProvider reads, in the order the firmware reads them at boot. */
export const CHIP_FACTORY_KEYS: readonly KeySpec[] = [
    { field: "discriminator", key: "discriminator", type: "u32", mandatory: true, group: "commissionable" },
    { field: "iterationCount", key: "iteration-count", type: "u32", mandatory: true, group: "commissionable" },
    { field: "salt", key: "salt", type: "base64", mandatory: true, group: "commissionable" },
    { field: "verifier", key: "verifier", type: "base64", mandatory: true, group: "commissionable" },
    { field: "dacCert", key: "dac-cert", type: "blob", mandatory: true, group: "attestation" },
    { field: "dacKey", key: "dac-key", type: "blob", mandatory: true, group: "attestation" },
    { field: "paiCert", key: "pai-cert", type: "blob", mandatory: true, group: "attestation" },
    { field: "certDeclaration", key: "cert-dclrn", type: "blob", mandatory: true, group: "instance" },
    { field: "vendorId", key: "vendor-id", type: "u32", mandatory: true, group: "instance" },
    { field: "productId", key: "product-id", type: "u32", mandatory: true, group: "instance" },
    { field: "vendorName", key: "vendor-name", type: "string", mandatory: false, group: "instance" },
    { field: "productName", key: "product-name", type: "string", mandatory: false, group: "instance" },
    { field: "hardwareVersion", key: "hardware-ver", type: "u32", mandatory: false, group: "instance" },
    { field: "hardwareVersionString", key: "hw-ver-str", type: "string", mandatory: false, group: "instance" },
    { field: "manufacturingDate", key: "mfg-date", type: "string", mandatory: false, group: "instance" },
    { field: "serialNumber", key: "serial-num", type: "string", mandatory: false, group: "instance" },
    { field: "partNumber", key: "part-number", type: "string", mandatory: false, group: "instance" },
    { field: "productLabel", key: "product-label", type: "string", mandatory: false, group: "instance" },
    { field: "productUrl", key: "product-url", type: "string", mandatory: false, group: "instance" },
    { field: "rotatingDeviceIdUniqueId", key: "rd-id-uid", type: "blob", mandatory: false, group: "instance" },
    { field: "productFinish", key: "product-finish", type: "u32", mandatory: false, group: "instance" },
    { field: "productColor", key: "product-color", type: "u32", mandatory: false, group: "instance" },
];

/** The secure-cert TLV that replaces an NVS key when the provider reads from esp_secure_cert. */
function secureCertValue(bytes: Uint8Array, key: string): unknown {
    switch (key) {
        case "dac-cert":
            return getDacCert(bytes);
        case "pai-cert":
            return getPaiCert(bytes);
        case "dac-key": {
            const k = getDacKey(bytes);
            if (k.kind !== "plaintext") {
                throw new EspError("ESP_ERR_NOT_SUPPORTED", `DAC key in esp_secure_cert is ${k.kind}; the virtual device needs a plaintext key`);
            }
            return rawP256Key(k.der);
        }
        case "discriminator":
            return getMatterData(bytes, MatterSubtype.DISCRIMINATOR);
        case "iteration-count":
            return getMatterData(bytes, MatterSubtype.SPAKE2P_ITERATION_COUNT);
        case "salt":
            return getMatterData(bytes, MatterSubtype.SPAKE2P_SALT);
        case "verifier":
            return getMatterData(bytes, MatterSubtype.SPAKE2P_VERIFIER);
        case "rd-id-uid":
            return getMatterData(bytes, MatterSubtype.RD_ID_UID);
        default:
            throw new EspError("ESP_ERR_NOT_FOUND", `${key} is not stored in esp_secure_cert`);
    }
}

/** The 32-byte private scalar of a DER EC key (SEC1 ECPrivateKey or PKCS#8). */
export function rawP256Key(der: Uint8Array): Uint8Array {
    // SEC1: 30 .. 02 01 01 04 20 <32 bytes>; PKCS#8 wraps the same structure: find the first `02 01 01 04 20`.
    for (let i = 0; i + 37 <= der.length; i++) {
        if (der[i] === 0x02 && der[i + 1] === 0x01 && der[i + 2] === 0x01 && der[i + 3] === 0x04 && der[i + 4] === 0x20) {
            return der.slice(i + 5, i + 37);
        }
    }
    if (der.length === 32) return der.slice();
    throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "DAC private key is neither SEC1/PKCS#8 DER nor a raw 32-byte scalar", { field: "dac-key" });
}

function decodeBase64Field(text: string, key: string): Uint8Array {
    const t = text.trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 !== 0) {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `${key} is not base64`, { field: key });
    }
    return new Uint8Array(Buffer.from(t, "base64"));
}

function readNvsValue(nvs: NvsStorage, spec: KeySpec): unknown {
    switch (spec.type) {
        case "u32":
            return nvs.getU32(CHIP_FACTORY_NAMESPACE, spec.key);
        case "string":
            return nvs.getStr(CHIP_FACTORY_NAMESPACE, spec.key);
        case "base64":
            return decodeBase64Field(nvs.getStr(CHIP_FACTORY_NAMESPACE, spec.key), spec.key);
        case "blob":
            return nvs.getBlob(CHIP_FACTORY_NAMESPACE, spec.key);
    }
}

/**
 * Mounts the factory partition and reads every chip-factory key the way the firmware does at boot. Never throws
 * for bad factory data: the outcome (values, per-key reads, first fatal error) is returned so the caller can log
 * it; `loadFactoryData` is the throwing form.
 */
export function readFactoryData(sources: FactoryDataSources): FactoryDataResult {
    const label = sources.partitionLabel ?? "fctry";
    const reads: FactoryRead[] = [];
    const data: Partial<DeviceFactoryData> = {};
    let error: EspError | DiagnosticError | undefined;
    const dacFromSecureCert = sources.dacProvider === "secure-cert";
    const commissionableFromSecureCert = sources.commissionableDataProvider === "secure-cert";

    let nvs: NvsStorage | undefined;
    let mountError: EspError | DiagnosticError | undefined;
    if (sources.nvs === undefined) {
        mountError = new EspError("ESP_ERR_NVS_PART_NOT_FOUND", `nvs_flash_init_partition("${label}"): partition not found`, { field: label });
    } else {
        try {
            const keys = sources.nvsKeys ?? (sources.nvsKeysPartition ? decodeNvsKeys(sources.nvsKeysPartition) : undefined);
            nvs = mountNvs(sources.nvs, { keys, readOnly: true, file: label });
            nvs.openNamespace(CHIP_FACTORY_NAMESPACE, true);
        } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
            mountError = e;
            nvs = undefined;
        }
    }

    for (const spec of CHIP_FACTORY_KEYS) {
        const fromSecureCert =
            (spec.group === "attestation" && dacFromSecureCert) ||
            (spec.group === "commissionable" && commissionableFromSecureCert) ||
            (spec.key === "rd-id-uid" && commissionableFromSecureCert);
        const source = fromSecureCert ? "esp_secure_cert" : "nvs";
        try {
            let value: unknown;
            if (fromSecureCert) {
                if (!sources.secureCert) throw new EspError("ESP_ERR_NOT_FOUND", "esp_secure_cert partition not found", { field: "esp_secure_cert" });
                value = secureCertValue(sources.secureCert, spec.key);
            } else {
                if (!nvs) throw mountError!;
                value = readNvsValue(nvs, spec);
            }
            (data as Record<string, unknown>)[spec.field] = value;
            reads.push({ key: spec.key, type: spec.type, source, ok: true, mandatory: spec.mandatory });
        } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
            reads.push({ key: spec.key, type: spec.type, source, ok: false, error: e.code, mandatory: spec.mandatory });
            if (spec.mandatory && error === undefined) {
                const where = source === "nvs" ? `from ${label}` : "from esp_secure_cert";
                error =
                    e instanceof EspError
                        ? new EspError(e.code as ConstructorParameters<typeof EspError>[0], `reading ${spec.key} ${where}: ${e.message}`, { ...e.context, field: spec.key })
                        : new DiagnosticError(e.code, `reading ${spec.key} ${where}: ${e.message}`, { ...e.context, field: spec.key });
            }
        }
    }

    if (data.vendorId !== undefined) data.vendorId &= 0xffff; // GetVendorId reads a u32 and truncates to u16
    if (data.productId !== undefined) data.productId &= 0xffff;
    if (data.manufacturingDate !== undefined) data.manufacturingDate = data.manufacturingDate.replace(/-/g, ""); // the ESP32 provider strips '-'
    return { data, reads, error };
}

/** Reads the factory data and throws the firmware's first fatal error (e.g. ESP_ERR_NVS_NOT_FOUND reading dac-cert from fctry). */
export function loadFactoryData(sources: FactoryDataSources): DeviceFactoryData {
    const r = readFactoryData(sources);
    if (r.error) throw r.error;
    return r.data as DeviceFactoryData;
}

/** Keys in chip-factory that must never be there: the passcode is deliberately not stored (esp-matter#147). */
export const FORBIDDEN_FACTORY_KEYS = ["passcode", "pin-code", "setup-pincode"] as const;

/** Finds forbidden keys (a security finding for the gate and `diagnose`). */
export function findForbiddenKeys(nvs: NvsStorage): string[] {
    return nvs
        .entries()
        .filter(e => e.namespace === CHIP_FACTORY_NAMESPACE && (FORBIDDEN_FACTORY_KEYS as readonly string[]).includes(e.key))
        .map(e => e.key);
}
