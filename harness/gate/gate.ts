/**
 * `mfgsim gate`: for every device of a manufacturing batch, do what the factory line and the first customer will
 * do — mount its partition like nvs_flash, read chip-factory like ESP32FactoryDataProvider, boot the virtual device
 * on loopback, commission it with the strict commissioner from the label's onboarding code, verify attestation
 * with connectedhomeip's rules, and compare Basic Information with what the factory wrote. Every step is a named
 * check (cli.md) whose failure detail carries the ESP-IDF or CHIP error name.
 */
import { readFile } from "node:fs/promises";
import { parse as parseCsv } from "csv-parse/sync";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { validateFactoryData, type DeviceFactoryData, type FirmwareInfo, type RunningDevice } from "../../emulator/device/index.js";
import { buildAppImage } from "../../emulator/bootloader_support/index.js";
import type { ChipName } from "../../emulator/efuse/index.js";
import { bootChip, buildFlashImage, ESP_MATTER_PARTITIONS_CSV, startFirmware, VirtualEsp32 } from "../../emulator/esp32/index.js";
import { findForbiddenKeys, readFactoryData } from "../../emulator/esp_matter/factory_data_provider.js";
import { decodeNvsKeys, looksNvsEncrypted, mountNvs, plaintextItemStats, type NvsKeys } from "../../emulator/nvs/index.js";
import type { Commissioner } from "../commissioner/index.js";
import type { AttestationHook, BasicInformationSnapshot, CommissionResult } from "../commissioner/types.js";
import { parseOnboardingCode } from "../onboarding/index.js";
import { decodeQrPng } from "../onboarding/label.js";
import { verifyAttestation, type TrustStore } from "../pki/index.js";
import { verifyPasscodeAgainstVerifierAsync } from "../spake2p/verifier.js";
import { deviceStatus, type CheckResult, type DeviceResult } from "../../reports/result.js";
import type { DeviceFiles } from "./discover.js";
// Static on purpose (a dynamic import() under tsx can load a second matter.js instance).
import { otaCheck } from "../ota/check.js";

export interface GateDeviceOptions {
    commissioner: Commissioner;
    trust: TrustStore;
    /** Accept CDs signed by test keys (demo / development batches). Default false. */
    allowTestKeys?: boolean;
    /** Clock for certificate validity (default: now). */
    now?: () => Date;
    /** What the app image the devices boot reports (default 1 / "1.0"). */
    firmware?: FirmwareInfo;
    /** The chip the batch is for (esp-matter-mfg-tool --target; default esp32c3). */
    chip?: ChipName;
    /** gate --ota: after the other checks pass, update the device with this Matter OTA file (the `ota` check). */
    ota?: string;
    /** gate --partitions: the product's partition table CSV (default: esp-matter's, fctry at 0x3E0000). */
    partitionsCsv?: string;
    /** gate --firmware: the product's app image (default: a synthetic image reporting `firmware`). */
    appImage?: Uint8Array;
}

export const DEFAULT_FIRMWARE: FirmwareInfo = { softwareVersion: 1, softwareVersionString: "1.0" };

/** The label: onb_codes.csv (mfg_tool columns qrcode,manualcode,discriminator,passcode). */
export interface OnboardingLabel {
    qrCode?: string;
    manualCode?: string;
    discriminator?: number;
    passcode?: number;
}

export async function readOnboardingCsv(file: string): Promise<OnboardingLabel> {
    const text = await readFile(file, "utf8");
    let rows: Record<string, string>[];
    try {
        rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
    } catch (e) {
        throw new DiagnosticError("INVALID_CSV", (e as Error).message, { file });
    }
    const row = rows[0];
    if (!row) throw new DiagnosticError("INVALID_CSV", "no data row", { file });
    const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
    return { qrCode: row.qrcode || undefined, manualCode: row.manualcode || undefined, discriminator: num(row.discriminator), passcode: num(row.passcode) };
}

/** Adapts harness/pki's strict verifier to the commissioner's attestation hook. */
export function strictAttestationHook(trust: TrustStore, options: { allowTestKeys?: boolean; now?: () => Date }): AttestationHook {
    return async input => {
        const r = verifyAttestation(
            {
                dac: input.dacCert,
                pai: input.paiCert,
                attestationElements: input.attestationElements,
                attestationChallenge: input.attestationChallenge,
                signature: input.attestationSignature,
                nonce: input.attestationNonce,
                vendorId: input.vendorId,
                productId: input.productId,
            },
            trust,
            { allowTestKeys: options.allowTestKeys, now: options.now },
        );
        return { result: r.result, code: r.code, detail: r.detail };
    };
}

class Checks {
    readonly list: CheckResult[] = [];
    async run<T>(name: string, fn: () => Promise<T> | T, describe: (v: T) => string = () => "ok"): Promise<T | undefined> {
        const t0 = performance.now();
        try {
            const v = await fn();
            this.list.push({ name, status: "pass", detail: describe(v), ms: Math.round(performance.now() - t0) });
            return v;
        } catch (e) {
            this.fail(name, detailOf(e), performance.now() - t0);
            return undefined;
        }
    }
    pass(name: string, detail: string, ms = 0) {
        this.list.push({ name, status: "pass", detail, ms: Math.round(ms) });
    }
    fail(name: string, detail: string, ms = 0) {
        this.list.push({ name, status: "fail", detail, ms: Math.round(ms) });
    }
    skip(name: string, detail: string) {
        this.list.push({ name, status: "skip", detail, ms: 0 });
    }
    skipRest(names: readonly string[], why: string) {
        for (const n of names) if (!this.list.some(c => c.name === n)) this.skip(n, why);
    }
}

/** A failure detail: the error name first (what users grep for), then the message. */
export function detailOf(e: unknown): string {
    if (e instanceof DiagnosticError) return e.message.startsWith(e.code) ? e.message : `${e.code}: ${e.message}`;
    return `CHIP_ERROR_INTERNAL: ${e instanceof Error ? e.message : String(e)}`;
}

const ALL_CHECKS = ["nvs.mount", "factory.read", "onboarding", "boot", "pase", "attestation", "cd", "noc", "case", "basic-information"] as const;

/** Checks one device; never throws for a bad device (that is a failed check), only for a harness bug. */
export async function gateDevice(files: DeviceFiles, options: GateDeviceOptions): Promise<DeviceResult> {
    const checks = new Checks();
    const firmware = options.firmware ?? DEFAULT_FIRMWARE;
    const result: DeviceResult = {
        id: files.id,
        dir: files.dir,
        status: "fail",
        checks: checks.list,
        vendorId: files.manifest?.vendorId ?? null,
        productId: files.manifest?.productId ?? null,
        serialNumber: files.manifest?.serial ?? null,
        softwareVersion: null,
        softwareVersionAfterOta: null,
    };
    const finish = () => {
        checks.skipRest(ALL_CHECKS, "not reached");
        if (options.ota !== undefined && !checks.list.some(c => c.name === "ota")) checks.skip("ota", "not reached");
        result.status = deviceStatus(checks.list);
        return result;
    };

    // nvs.mount — the factory partition (and its nvs_keys partition) as nvs_flash_init_partition sees them
    const partition = new Uint8Array(await readFile(files.partition));
    const keysPartition = files.keysPartition ? new Uint8Array(await readFile(files.keysPartition)) : undefined;
    const secureCert = files.secureCert ? new Uint8Array(await readFile(files.secureCert)) : undefined;
    const mounted = await checks.run("nvs.mount", () => {
        const keys: NvsKeys | undefined = keysPartition ? decodeNvsKeys(keysPartition, files.keysPartition) : undefined;
        if (!keys) {
            // an -e batch copied without its keys-partition.bin: said as such, not as a missing chip-factory
            const s = plaintextItemStats(partition);
            if (looksNvsEncrypted(s)) {
                throw new DiagnosticError(
                    "ESP_ERR_NVS_KEYS_NOT_INITIALIZED",
                    `none of the ${s.written} written entries reads as plaintext: the partition is NVS-encrypted (generate -e) and the device has no keys-partition.bin; ` +
                        "a chip flashed without its nvs_keys partition finds it erased and cannot read chip-factory",
                    { file: files.partition },
                );
            }
        }
        const nvs = mountNvs(partition, { keys, readOnly: true, file: files.partition });
        nvs.openNamespace("chip-factory", true);
        return { nvs, encrypted: keys !== undefined };
    }, m => `chip-factory mounted${m.encrypted ? " (NVS encryption, keys from nvs_keys)" : ""}, ${m.nvs.pages().length} pages`);
    if (!mounted) return finish();

    // factory.read — ESP32FactoryDataProvider, then the firmware's own consistency checks
    // Which provider the firmware was built with (CONFIG_SEC_CERT_DAC_PROVIDER, commissionable data in esp_secure_cert):
    // the one matching how the batch was generated — keys missing from chip-factory but present in esp_secure_cert.
    const factoryKeys = new Set(mounted.nvs.entries().filter(e => e.namespace === "chip-factory").map(e => e.key));
    const dacInSecureCert = secureCert !== undefined && !factoryKeys.has("dac-cert");
    const providers = {
        dacProvider: dacInSecureCert ? "secure-cert" : "nvs",
        commissionableDataProvider: secureCert !== undefined && !factoryKeys.has("verifier") ? "secure-cert" : "nvs",
    } as const;
    const factory = await checks.run("factory.read", () => {
        const r = readFactoryData({
            nvs: partition,
            nvsKeysPartition: keysPartition,
            secureCert,
            ...providers,
        });
        if (r.error) throw r.error;
        const forbidden = findForbiddenKeys(mounted.nvs);
        if (forbidden.length) {
            throw new DiagnosticError("SecurityFinding", `chip-factory stores ${forbidden.join(", ")}: the passcode must never be on the device, only its SPAKE2+ verifier`);
        }
        validateFactoryData(r.data, firmware);
        return r.data as DeviceFactoryData;
    }, d => `${Object.keys(d).length} chip-factory values, VID 0x${hex4(d.vendorId)} PID 0x${hex4(d.productId)}`);
    if (!factory) return finish();
    result.vendorId = factory.vendorId;
    result.productId = factory.productId;
    result.serialNumber = factory.serialNumber ?? result.serialNumber;

    // onboarding — the label must describe this device
    const tLabel = performance.now();
    let label: LabelCheck | undefined;
    try {
        label = await checkLabel(files, factory);
        result.qrCode = label.qrCode ?? null;
        if (label.problems.length) checks.fail("onboarding", `OnboardingPayloadMismatch: ${label.problems.join("; ")}`, performance.now() - tLabel);
        else checks.pass("onboarding", label.summary, performance.now() - tLabel);
    } catch (e) {
        checks.fail("onboarding", detailOf(e), performance.now() - tLabel);
    }
    // A mismatching label is still used: commissioning shows what a user holding it would see.
    if (!label || label.passcode === undefined) {
        checks.skipRest(ALL_CHECKS, "no usable onboarding code on the label");
        return finish();
    }

    // boot — the virtual ESP32: esptool layout (factory partition at fctry, keys at nvs_keys), bootloader, firmware
    let device: RunningDevice | undefined;
    try {
        const booted = await checks.run("boot", async () => {
            const chip = virtualChip(options, partition, keysPartition, secureCert);
            const boot = bootChip(chip);
            result.bootLog = boot.log;
            if (!boot.ok) throw new DiagnosticError(boot.error?.code ?? "ESP_ERR_IMAGE_INVALID", `${boot.error?.message ?? "no bootable app"} | ${tail(boot.log)}`);
            const fw = await startFirmware(chip, boot, {
                port: 0,
                nvsEncryption: keysPartition !== undefined,
                ...providers,
            });
            result.bootLog = fw.log;
            if (!fw.ok || !fw.device) throw new DiagnosticError(fw.error?.code ?? "ESP_FAIL", `${fw.error?.message ?? "firmware did not start"} | ${tail(fw.log)}`);
            return { device: fw.device, firmware: fw.firmware! };
        }, b => `booted ${b.firmware.softwareVersionString} (SoftwareVersion ${b.firmware.softwareVersion}); Matter device on 127.0.0.1:${b.device.port}, up in ${Math.round(b.device.timings.bootMs)} ms`);
        if (!booted) return finish();
        device = booted.device;
        result.softwareVersion = booted.firmware.softwareVersion;
        const address = { ip: "127.0.0.1", port: device.port };
        options.commissioner.registry.setCommissionable(address, device.advertisement);
        const commissioned = await options.commissioner.commission({
            address,
            passcode: label.passcode,
            discriminator: label.discriminator,
            attestation: strictAttestationHook(options.trust, options),
        });
        recordCommissioning(checks, commissioned, factory, files, booted.firmware);
        if (commissioned.nodeId !== undefined) await options.commissioner.disconnect(commissioned.nodeId).catch(() => undefined);
    } finally {
        await device?.stop();
    }
    if (options.ota !== undefined) {
        const t0 = performance.now();
        if (checks.list.some(c => c.status === "fail") || label.passcode === undefined) {
            checks.skip("ota", "earlier checks failed");
        } else {
            // a fresh flash of the same device: the requestor's own provider commissions it into its fabric
            const r = await otaCheck({
                chip: virtualChip(options, partition, keysPartition, secureCert),
                passcode: label.passcode,
                attestation: strictAttestationHook(options.trust, options),
                firmware: { nvsEncryption: keysPartition !== undefined, ...providers },
            }, options.ota);
            result.softwareVersionAfterOta = r.softwareVersionAfterOta;
            if (r.status === "pass") checks.pass("ota", r.detail, performance.now() - t0);
            else checks.fail("ota", r.detail, performance.now() - t0);
        }
    }
    return finish();
}

/** The last meaningful console lines, for a failure detail. */
function tail(log: readonly string[], n = 3): string {
    return log.filter(l => /^[EW] \(/.test(l)).slice(-n).join(" | ") || log.slice(-n).join(" | ");
}

/** The app image every gated device boots (built once per firmware version). */
const appImages = new Map<string, Uint8Array>();
function appImage(chip: ChipName, firmware: FirmwareInfo): Uint8Array {
    const key = `${chip}/${firmware.softwareVersion}/${firmware.softwareVersionString}`;
    let image = appImages.get(key);
    if (!image) {
        image = buildAppImage({ chip, version: firmware.softwareVersionString, matterSoftwareVersion: firmware.softwareVersion, projectName: "mfgsim-gate-light" });
        appImages.set(key, image);
    }
    return image;
}

/**
 * A fresh virtual ESP32 flashed like a factory would: the partition table (esp-matter's by default), the app in its
 * first app slot, the factory partition into `fctry`, nvs_keys and esp_secure_cert into theirs.
 */
function virtualChip(options: GateDeviceOptions, fctry: Uint8Array, nvsKeys?: Uint8Array, secureCert?: Uint8Array): VirtualEsp32 {
    const chip = options.chip ?? "esp32c3";
    const { image } = buildFlashImage({
        chip,
        partitions: options.partitionsCsv ?? ESP_MATTER_PARTITIONS_CSV,
        app: options.appImage ?? appImage(chip, options.firmware ?? DEFAULT_FIRMWARE),
        fctry,
        ...(nvsKeys ? { nvsKeys } : {}),
        ...(secureCert ? { secureCert } : {}),
    });
    return VirtualEsp32.fromImage(image, { chip });
}

function hex4(n: number) {
    return n.toString(16).toUpperCase().padStart(4, "0");
}

interface LabelCheck {
    qrCode?: string;
    passcode?: number;
    discriminator?: number;
    summary: string;
    problems: string[];
}

async function checkLabel(files: DeviceFiles, factory: DeviceFactoryData): Promise<LabelCheck> {
    let label: OnboardingLabel;
    if (files.onboardingCodes) {
        label = await readOnboardingCsv(files.onboardingCodes);
    } else if (files.qrPng) {
        // only the printed label: read it like a phone camera does
        label = { qrCode: decodeQrPng(new Uint8Array(await readFile(files.qrPng))) };
    } else {
        throw new DiagnosticError("CHIP_ERROR_KEY_NOT_FOUND", "neither onb_codes.csv nor a QR label image: nothing to commission with");
    }
    const problems: string[] = [];
    const code = label.qrCode ?? label.manualCode;
    if (!code) throw new DiagnosticError("CHIP_ERROR_KEY_NOT_FOUND", "onb_codes.csv has neither a QR code nor a manual code", { file: files.onboardingCodes });
    const qr = label.qrCode ? parseOnboardingCode(label.qrCode).payloads[0] : undefined;
    const manual = label.manualCode ? parseOnboardingCode(label.manualCode).payloads[0] : undefined;
    const passcode = qr?.passcode ?? manual?.passcode ?? label.passcode;
    if (qr && manual && (qr.passcode !== manual.passcode || qr.shortDiscriminator !== manual.shortDiscriminator)) {
        problems.push("QR code and manual code disagree");
    }
    if (label.passcode !== undefined && passcode !== label.passcode) problems.push(`onb_codes passcode ${label.passcode} ≠ code's ${passcode}`);
    if (qr) {
        if (qr.discriminator !== factory.discriminator) problems.push(`QR discriminator ${qr.discriminator} ≠ chip-factory discriminator ${factory.discriminator}`);
        if (qr.vendorId !== factory.vendorId || qr.productId !== factory.productId) {
            problems.push(`QR VID/PID 0x${hex4(qr.vendorId ?? 0)}/0x${hex4(qr.productId ?? 0)} ≠ chip-factory 0x${hex4(factory.vendorId)}/0x${hex4(factory.productId)}`);
        }
    } else if (manual && manual.shortDiscriminator !== factory.discriminator >> 8) {
        problems.push(`manual code short discriminator ${manual.shortDiscriminator} ≠ chip-factory ${factory.discriminator >> 8}`);
    }
    if (files.manifest?.qrCode && label.qrCode && files.manifest.qrCode !== label.qrCode) problems.push("manifest QR code ≠ onb_codes.csv");
    if (files.qrPng && label.qrCode) {
        try {
            const decoded = decodeQrPng(new Uint8Array(await readFile(files.qrPng)));
            if (decoded !== label.qrCode) problems.push(`QR label image decodes to ${decoded}, not ${label.qrCode}`);
        } catch (e) {
            problems.push(`QR label image unreadable: ${detailOf(e)}`);
        }
    }
    // PBKDF2 on libuv's pool: other devices' commissioning goes on meanwhile
    if (passcode !== undefined && !(await verifyPasscodeAgainstVerifierAsync(passcode, factory.salt, factory.iterationCount, factory.verifier))) {
        problems.push("the label's passcode does not match the device's SPAKE2+ verifier (PASE will fail)");
    }
    return { qrCode: label.qrCode, passcode, discriminator: qr?.discriminator ?? undefined, problems, summary: `${code} (label matches chip-factory and verifier)` };
}

/** Turns the commissioner's steps into gate checks; CD findings (6xx) are the `cd` check. */
function recordCommissioning(checks: Checks, r: CommissionResult, factory: DeviceFactoryData, files: DeviceFiles, firmware: FirmwareInfo) {
    for (const step of r.steps) {
        if (step.name === "attestation") {
            const cdFailure = step.status === "failed" && /^CertificationDeclaration|\b6\d\d\b/.test(r.error ?? "");
            if (step.status === "ok") {
                checks.pass("attestation", step.detail, step.ms);
                checks.pass("cd", "certification declaration signature and content verified", 0);
            } else if (cdFailure) {
                checks.pass("attestation", "DAC → PAI → PAA chain and attestation signature verified", step.ms);
                checks.fail("cd", withName(r.error, step.detail), 0);
            } else {
                checks.fail("attestation", withName(r.error, step.detail), step.ms);
                checks.skip("cd", "attestation failed first");
            }
            continue;
        }
        if (step.status === "ok") checks.pass(step.name, step.detail, step.ms);
        else if (step.status === "failed") checks.fail(step.name, withName(r.failedStep === step.name ? r.error : undefined, step.detail), step.ms);
        else checks.skip(step.name, step.detail);
    }
    if (r.basicInformation && !checks.list.some(c => c.name === "basic-information" && c.status === "fail")) {
        const mismatches = compareBasicInformation(r.basicInformation, factory, files, firmware);
        const i = checks.list.findIndex(c => c.name === "basic-information");
        const entry: CheckResult = mismatches.length
            ? { name: "basic-information", status: "fail", detail: `BasicInformationMismatch: ${mismatches.join("; ")}`, ms: checks.list[i]?.ms ?? 0 }
            : { name: "basic-information", status: "pass", detail: "VendorID, ProductID, names, versions and serial number match the factory data and manifest", ms: checks.list[i]?.ms ?? 0 };
        if (i >= 0) checks.list[i] = entry;
        else checks.list.push(entry);
    }
    if (!r.ok && r.failedStep === undefined) checks.fail("commissioning", withName(r.error, r.message ?? "commissioning failed"));
}

function withName(name: string | undefined, detail: string): string {
    if (!name || detail.startsWith(name)) return detail;
    return `${name}: ${detail}`;
}

/** What the device reports vs what the factory wrote (and what the manifest promised). */
export function compareBasicInformation(bi: BasicInformationSnapshot, fd: DeviceFactoryData, files: DeviceFiles, firmware: FirmwareInfo): string[] {
    const out: string[] = [];
    const eq = (name: string, found: unknown, expected: unknown) => {
        if (expected !== undefined && expected !== null && found !== expected) out.push(`${name} ${JSON.stringify(found)} ≠ expected ${JSON.stringify(expected)}`);
    };
    eq("VendorID", bi.vendorId, fd.vendorId);
    eq("ProductID", bi.productId, fd.productId);
    eq("VendorID (manifest)", bi.vendorId, files.manifest?.vendorId);
    eq("ProductID (manifest)", bi.productId, files.manifest?.productId);
    eq("SerialNumber", bi.serialNumber, fd.serialNumber);
    eq("SerialNumber (manifest)", bi.serialNumber, files.manifest?.serial);
    eq("VendorName", bi.vendorName, fd.vendorName);
    eq("ProductName", bi.productName, fd.productName);
    eq("HardwareVersion", bi.hardwareVersion, fd.hardwareVersion);
    eq("HardwareVersionString", bi.hardwareVersionString, fd.hardwareVersionString);
    eq("ManufacturingDate", bi.manufacturingDate, fd.manufacturingDate);
    eq("PartNumber", bi.partNumber, fd.partNumber);
    eq("ProductLabel", bi.productLabel, fd.productLabel);
    eq("ProductURL", bi.productUrl, fd.productUrl);
    eq("SoftwareVersion", bi.softwareVersion, firmware.softwareVersion);
    eq("SoftwareVersionString", bi.softwareVersionString, firmware.softwareVersionString);
    return out;
}
