/**
 * Factory data a virtual device boots from: the chip-factory NVS namespace of esp-matter (ESP32FactoryDataProvider,
 * components/esp_matter/esp_matter_factory_data_provider / connectedhomeip src/platform/ESP32/ESP32FactoryDataProvider.cpp).
 *
 * `validateFactoryData` is what the firmware does at boot: every mandatory key must be present (else
 * ESP_ERR_NVS_NOT_FOUND naming the NVS key, e.g. "reading dac-cert from fctry"), values must be in range, and the
 * DAC/PAI must agree with vendor-id/product-id — a device refuses to start with inconsistent factory data, and it
 * never falls back to built-in test credentials.
 */
import { Pai, Dac, CertificationDeclaration } from "@matter/main/protocol";
import { DiagnosticError, EspError } from "../esp_common/err.js";

/** Matter §11.1.6.3 ProductFinishEnum / ColorEnum are plain numbers here (0..5, 0..20). */
export interface DeviceFactoryData {
    discriminator: number;
    iterationCount: number;
    salt: Uint8Array;
    /** SPAKE2+ verifier: w0 (32 B) ‖ L (65 B uncompressed point) = 97 bytes. */
    verifier: Uint8Array;
    dacCert: Uint8Array;
    /** Raw 32-byte P-256 private scalar. */
    dacKey: Uint8Array;
    paiCert: Uint8Array;
    certDeclaration: Uint8Array;
    vendorId: number;
    productId: number;
    vendorName?: string;
    productName?: string;
    hardwareVersion?: number;
    hardwareVersionString?: string;
    /** YYYYMMDD followed by up to 8 vendor-specific characters. */
    manufacturingDate?: string;
    serialNumber?: string;
    partNumber?: string;
    productLabel?: string;
    productUrl?: string;
    uniqueId?: string;
    rotatingDeviceIdUniqueId?: Uint8Array;
    productFinish?: number;
    productColor?: number;
}

/** What the app image says about itself (esp_app_desc_t / CONFIG_DEVICE_SOFTWARE_VERSION*). */
export interface FirmwareInfo {
    softwareVersion: number;
    softwareVersionString: string;
}

/** The esp-matter chip-factory key each field is read from (used in error messages). */
export const FACTORY_KEYS: Record<keyof DeviceFactoryData, string> = {
    discriminator: "discriminator",
    iterationCount: "iteration-count",
    salt: "salt",
    verifier: "verifier",
    dacCert: "dac-cert",
    dacKey: "dac-key",
    paiCert: "pai-cert",
    certDeclaration: "cert-dclrn",
    vendorId: "vendor-id",
    productId: "product-id",
    vendorName: "vendor-name",
    productName: "product-name",
    hardwareVersion: "hardware-ver",
    hardwareVersionString: "hw-ver-str",
    manufacturingDate: "mfg-date",
    serialNumber: "serial-num",
    partNumber: "part-number",
    productLabel: "product-label",
    productUrl: "product-url",
    uniqueId: "unique-id",
    rotatingDeviceIdUniqueId: "rd-id-uid",
    productFinish: "product-finish",
    productColor: "product-color",
};

const MANDATORY: (keyof DeviceFactoryData)[] = [
    "discriminator", "iterationCount", "salt", "verifier", "dacCert", "dacKey", "paiCert", "certDeclaration", "vendorId", "productId",
];

/** Maximum lengths (bytes) the Basic Information cluster allows (Matter §11.1.5). */
const STRING_LIMITS: Partial<Record<keyof DeviceFactoryData, number>> = {
    vendorName: 32,
    productName: 32,
    hardwareVersionString: 64,
    serialNumber: 32,
    partNumber: 32,
    productLabel: 64,
    productUrl: 256,
    uniqueId: 32,
};

/** P-256 group order. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function bad(field: keyof DeviceFactoryData, message: string, code = "CHIP_ERROR_INVALID_ARGUMENT"): DiagnosticError {
    return new DiagnosticError(code, `${FACTORY_KEYS[field]}: ${message}`, { field: FACTORY_KEYS[field] });
}

function intIn(fd: DeviceFactoryData, field: keyof DeviceFactoryData, min: number, max: number) {
    const v = fd[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
        throw bad(field, `${String(v)} out of range ${min}..${max}`);
    }
}

function bytesIn(fd: DeviceFactoryData, field: keyof DeviceFactoryData, min: number, max: number) {
    const v = fd[field];
    if (!(v instanceof Uint8Array)) throw bad(field, "not a byte string", "ESP_ERR_NVS_TYPE_MISMATCH");
    if (v.length < min || v.length > max) {
        throw bad(field, `length ${v.length} out of range ${min}..${max}`, "ESP_ERR_NVS_INVALID_LENGTH");
    }
}

/** The parts of the attestation chain the firmware checked at boot. */
export interface CheckedCredentials {
    dacVendorId?: number;
    dacProductId?: number;
    paiVendorId?: number;
    paiProductId?: number;
}

/**
 * Checks factory data the way firmware does before starting Matter. Throws `EspError(ESP_ERR_NVS_NOT_FOUND)` for a
 * missing key, `DiagnosticError` for an invalid value, `DacVendorIdMismatch` & co. for an inconsistent chain.
 */
export function validateFactoryData(fd: Partial<DeviceFactoryData> | undefined, firmware?: FirmwareInfo): CheckedCredentials {
    if (fd === undefined || fd === null) {
        throw new EspError("ESP_ERR_NVS_NOT_FOUND", "no factory data (chip-factory namespace) in fctry", { field: "chip-factory" });
    }
    for (const field of MANDATORY) {
        if (fd[field] === undefined || fd[field] === null) {
            throw new EspError("ESP_ERR_NVS_NOT_FOUND", `reading ${FACTORY_KEYS[field]} from fctry`, { field: FACTORY_KEYS[field] });
        }
    }
    const f = fd as DeviceFactoryData;
    intIn(f, "discriminator", 0, 0xfff);
    intIn(f, "iterationCount", 1000, 100000);
    bytesIn(f, "salt", 16, 32);
    bytesIn(f, "verifier", 97, 97);
    if (f.verifier[32] !== 0x04) throw bad("verifier", "L is not an uncompressed P-256 point");
    bytesIn(f, "dacKey", 32, 32);
    const scalar = BigInt(`0x${Buffer.from(f.dacKey).toString("hex")}`);
    if (scalar === 0n || scalar >= P256_N) throw bad("dacKey", "not a valid P-256 private key");
    bytesIn(f, "dacCert", 1, 600);
    bytesIn(f, "paiCert", 1, 600);
    bytesIn(f, "certDeclaration", 1, 600);
    intIn(f, "vendorId", 0, 0xfffe);
    intIn(f, "productId", 0, 0xffff);
    for (const [field, limit] of Object.entries(STRING_LIMITS) as [keyof DeviceFactoryData, number][]) {
        const v = f[field];
        if (v === undefined) continue;
        if (typeof v !== "string") throw bad(field, "not a string", "ESP_ERR_NVS_TYPE_MISMATCH");
        if (Buffer.byteLength(v, "utf8") > limit) throw bad(field, `longer than ${limit} bytes`, "CHIP_ERROR_BUFFER_TOO_SMALL");
    }
    if (f.hardwareVersion !== undefined) intIn(f, "hardwareVersion", 0, 0xffff);
    if (f.manufacturingDate !== undefined) {
        const m = /^(\d{4})(\d{2})(\d{2})/.exec(f.manufacturingDate);
        const ok = m !== null && f.manufacturingDate.length <= 16 && +m[2]! >= 1 && +m[2]! <= 12 && +m[3]! >= 1 && +m[3]! <= 31;
        if (!ok) throw bad("manufacturingDate", `${JSON.stringify(f.manufacturingDate)} is not YYYYMMDD[vendor]`);
    }
    if (f.rotatingDeviceIdUniqueId !== undefined) bytesIn(f, "rotatingDeviceIdUniqueId", 16, 32);
    if (f.productFinish !== undefined) intIn(f, "productFinish", 0, 5);
    if (f.productColor !== undefined) intIn(f, "productColor", 0, 20);
    if (firmware !== undefined) {
        if (!Number.isInteger(firmware.softwareVersion) || firmware.softwareVersion < 0 || firmware.softwareVersion > 0xffffffff) {
            throw new DiagnosticError("ESP_ERR_IMAGE_INVALID", `software version ${firmware.softwareVersion} out of range`, { field: "softwareVersion" });
        }
        if (Buffer.byteLength(firmware.softwareVersionString, "utf8") > 64 || firmware.softwareVersionString.length === 0) {
            throw new DiagnosticError("ESP_ERR_IMAGE_INVALID", "software version string must be 1..64 bytes", { field: "softwareVersionString" });
        }
    }

    // The chain must parse, and agree with vendor-id / product-id.
    let dac: Dac, pai: Pai;
    try {
        dac = Dac.fromAsn1(f.dacCert);
    } catch (e) {
        throw bad("dacCert", `not a DER X.509 DAC: ${(e as Error).message}`, "CHIP_ERROR_UNSUPPORTED_CERT_FORMAT");
    }
    try {
        pai = Pai.fromAsn1(f.paiCert);
    } catch (e) {
        throw bad("paiCert", `not a DER X.509 PAI: ${(e as Error).message}`, "CHIP_ERROR_UNSUPPORTED_CERT_FORMAT");
    }
    try {
        CertificationDeclaration.parse(f.certDeclaration);
    } catch (e) {
        throw bad("certDeclaration", `not a CMS-signed certification declaration: ${(e as Error).message}`, "CHIP_ERROR_UNSUPPORTED_CERT_FORMAT");
    }
    const checked: CheckedCredentials = {
        dacVendorId: dac.cert.subject.vendorId,
        dacProductId: dac.cert.subject.productId,
        paiVendorId: pai.cert.subject.vendorId,
        paiProductId: pai.cert.subject.productId,
    };
    const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(4, "0")}`;
    if (checked.dacVendorId !== f.vendorId) {
        throw bad("dacCert", `DAC VID ${checked.dacVendorId === undefined ? "missing" : hex(checked.dacVendorId)} != vendor-id ${hex(f.vendorId)}`, "DacVendorIdMismatch");
    }
    if (checked.dacProductId !== f.productId) {
        throw bad("dacCert", `DAC PID ${checked.dacProductId === undefined ? "missing" : hex(checked.dacProductId)} != product-id ${hex(f.productId)}`, "DacProductIdMismatch");
    }
    if (checked.paiVendorId !== f.vendorId) {
        throw bad("paiCert", `PAI VID ${checked.paiVendorId === undefined ? "missing" : hex(checked.paiVendorId)} != vendor-id ${hex(f.vendorId)}`, "PaiVendorIdMismatch");
    }
    if (checked.paiProductId !== undefined && checked.paiProductId !== f.productId) {
        throw bad("paiCert", `PAI PID ${hex(checked.paiProductId)} != product-id ${hex(f.productId)}`, "PaiProductIdMismatch");
    }
    return checked;
}
