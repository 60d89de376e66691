/**
 * `mfgsim diagnose`: why does this device not commission? From a flash dump (`esptool read_flash 0 ALL`) — or a
 * bare factory partition (+ its nvs_keys partition) — boot the virtual ESP32 as the device would, show the boot
 * trace, the partition table and the factory data (secrets redacted), then list every finding that stops
 * commissioning, in the order the device and the commissioner meet them, each with its ESP-IDF / CHIP error
 * name and the likely cause (linked to the public field issues). When everything reads, commission the virtual
 * device for real.
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { Efuses } from "../../emulator/efuse/index.js";
import { bootChip, ESP_SECURE_CERT_TYPE, startFirmware, VirtualEsp32, type BootDecision } from "../../emulator/esp32/index.js";
import { findForbiddenKeys, readFactoryData, type FactoryRead } from "../../emulator/esp_matter/factory_data_provider.js";
import { DataSubtype, PartitionType, subtypeName } from "../../emulator/esp_partition/index.js";
import { decodeNvsKeys, looksNvsEncrypted, mountNvs, plaintextItemStats, type NvsEntryView, type NvsKeys } from "../../emulator/nvs/index.js";
import type { DeviceFactoryData } from "../../emulator/device/index.js";
import { crc32le } from "../../emulator/esp_rom/crc.js";
import { espCrc32 } from "../../emulator/esp_rom/crc.js";
import { parseOnboardingCode } from "../onboarding/index.js";
import { createAttestationResponse, keyFromScalar, verifyAttestation, type TrustStore } from "../pki/index.js";
import { verifyPasscodeAgainstVerifier } from "../spake2p/verifier.js";
import { knownCause } from "./causes.js";

export interface DiagnoseOptions {
    /** eFuse summary JSON (espefuse summary --format json), text or parsed. */
    efuses?: string | object;
    /** The flash encryption key (raw 32/64 bytes) when the eFuse summary cannot carry it (read-protected). */
    flashKey?: Uint8Array;
    /** Bare-partition mode: the nvs_keys partition. */
    keysPartition?: Uint8Array;
    /** The label: QR code (MT:…) or manual code. */
    code?: string;
    /** The commissioner's trust anchors (attestation is checked offline, then for real). */
    trust?: TrustStore;
    allowTestKeys?: boolean;
    /** Commission the virtual device when nothing stops it (default true; needs `code` and `trust`). */
    commission?: boolean;
    /** CONFIG_CHIP_FACTORY_NAMESPACE_PARTITION_LABEL (default fctry). */
    factoryLabel?: string;
}

export interface Finding {
    /** ESP-IDF / CHIP / AttestationVerificationResult name. */
    code: string;
    stage: "boot" | "factory-data" | "security" | "label" | "attestation" | "commissioning";
    message: string;
    /** Likely cause: specific when the dump shows it, else the usual one for the error. */
    cause: string;
    issues: string[];
}

export interface DiagnoseReport {
    input: "flash" | "partition";
    chip: string | null;
    flashEncryption: boolean;
    bootLog: string[];
    trace: BootDecision[];
    partitions: Array<{ name: string; type: string; subtype: string; offset: number; size: number; encrypted: boolean }>;
    factory: { label: string; offset: number | null; size: number; nvsEncryption: boolean; entries: Array<{ namespace: string; key: string; type: string; value: string | number }> } | null;
    reads: FactoryRead[];
    findings: Finding[];
    commissioning: { attempted: boolean; ok: boolean; detail: string; steps: Array<{ name: string; status: string; detail: string }> };
    ok: boolean;
}

const REDACTED = new Set(["dac-key"]);

/** A value for the report: secrets redacted, blobs as length + hex prefix. */
export function redact(e: NvsEntryView): string | number {
    if (REDACTED.has(e.key)) return `<redacted: ${e.value instanceof Uint8Array ? e.value.length : "?"}-byte private key>`;
    if (e.value instanceof Uint8Array) return `<${e.value.length} bytes ${Buffer.from(e.value.subarray(0, 8)).toString("hex")}…>`;
    if (typeof e.value === "bigint") return e.value.toString();
    return e.value;
}

/** True when the bytes look like a full flash image (a partition table at 0x8000, or any eFuse/key context). */
export function looksLikeFlash(image: Uint8Array, o: DiagnoseOptions = {}): boolean {
    if (o.efuses !== undefined || o.flashKey !== undefined) return true;
    return image.length >= 0x9000 && image[0x8000] === 0xaa && image[0x8001] === 0x50;
}

/** Offsets (4 KiB aligned) where a plaintext NVS page with a `chip-factory` namespace entry sits. */
export function findFactoryImages(image: Uint8Array): number[] {
    const out: number[] = [];
    const name = new TextEncoder().encode("chip-factory\0");
    for (let at = 0; at + 4096 <= image.length; at += 4096) {
        const state = image[at]! | (image[at + 1]! << 8) | (image[at + 2]! << 16) | (image[at + 3]! << 24);
        if ((state >>> 0) !== 0xfffffffe && (state >>> 0) !== 0xfffffffc) continue;
        const crc = espCrc32(image.subarray(at + 4, at + 28));
        const stored = (image[at + 28]! | (image[at + 29]! << 8) | (image[at + 30]! << 16) | (image[at + 31]! << 24)) >>> 0;
        if (crc !== stored) continue;
        for (let e = at + 64; e + 32 <= at + 4096; e += 32) {
            if (image[e] === 0 && name.every((b, i) => image[e + 8 + i] === b)) {
                out.push(at);
                break;
            }
        }
    }
    // report the first page of each contiguous image
    return out.filter((o, i) => i === 0 || out[i - 1] !== o - 4096);
}

const hex = (n: number) => `0x${n.toString(16)}`;

function chipFactoryReadable(bytes: Uint8Array, keys?: NvsKeys): boolean {
    try {
        return mountNvs(bytes, { readOnly: true, ...(keys ? { keys } : {}) }).entries().some(e => e.namespace === "chip-factory");
    } catch {
        return false;
    }
}

function burnFlashKey(efuses: Efuses, key: Uint8Array): void {
    if (efuses.flashEncryptionKey() === undefined) {
        if (efuses.chip.name === "esp32") efuses.burnKey("BLOCK1", key, "FLASH_ENCRYPTION");
        else {
            const free = efuses.keyBlocks().find(b => b.purposeValue === 0);
            if (!free) throw new DiagnosticError("ESP_ERR_NOT_FOUND", "no free eFuse key block for --flash-key", { field: "--flash-key" });
            efuses.burnKey(free.index, key, key.length === 64 ? "XTS_AES_256_KEY" : "XTS_AES_128_KEY");
        }
    }
    if (!efuses.flashEncryptionEnabled()) efuses.enableFlashEncryption("development");
}

export async function diagnose(image: Uint8Array, o: DiagnoseOptions = {}): Promise<DiagnoseReport> {
    const findings: Finding[] = [];
    const find = (code: string, stage: Finding["stage"], message: string, cause?: string, issues?: string[]) => {
        const k = knownCause(code);
        findings.push({ code, stage, message, cause: cause ?? k.cause, issues: issues ?? k.issues });
    };
    const label = o.factoryLabel ?? "fctry";
    const report: DiagnoseReport = {
        input: looksLikeFlash(image, o) ? "flash" : "partition", chip: null, flashEncryption: false, bootLog: [], trace: [], partitions: [],
        factory: null, reads: [], findings, commissioning: { attempted: false, ok: false, detail: "not attempted", steps: [] }, ok: false,
    };

    let fctryBytes: Uint8Array | undefined;
    let keysBytes: Uint8Array | undefined;
    let secureCert: Uint8Array | undefined;
    let nvsEncryption = false;
    let fctryOffset: number | null = null;
    let chip: VirtualEsp32 | undefined;
    let factoryData: Partial<DeviceFactoryData> | undefined;

    if (report.input === "flash") {
        let efuses: Efuses | undefined;
        if (o.efuses !== undefined) efuses = Efuses.fromSummaryJson(o.efuses);
        chip = VirtualEsp32.fromImage(image, efuses ? { efuses } : {});
        if (o.flashKey) burnFlashKey(chip.efuses, o.flashKey);
        report.chip = chip.chip;
        report.flashEncryption = chip.flashEncryption;
        const boot = bootChip(chip);
        report.trace = boot.trace;
        report.partitions = boot.partitions.map(p => ({ name: p.name, type: p.type === PartitionType.APP ? "app" : p.type === PartitionType.DATA ? "data" : `0x${p.type.toString(16)}`, subtype: subtypeName(p.type, p.subtype) ?? `0x${p.subtype.toString(16)}`, offset: p.offset, size: p.size, encrypted: p.encrypted ?? false }));
        if (!boot.ok) {
            report.bootLog = boot.log;
            const code = boot.error?.code ?? "ESP_FAIL";
            find(code, "boot", boot.error?.message ?? "the bootloader did not start an app", chip.flashEncryption && image[0x8000] === 0xaa ? "flash encryption is enabled in the eFuses but the flash holds plaintext (written without --encrypt)" : undefined);
        } else {
            const fw = await startFirmware(chip, boot, { startDevice: false, port: 0, factoryPartitionLabel: label });
            report.bootLog = fw.log;
            report.reads = fw.reads;
            factoryData = fw.factoryData;
            const fctry = boot.partitions.find(p => p.name === label && p.type === PartitionType.DATA && p.subtype === DataSubtype.NVS);
            const keysPart = boot.partitions.find(p => p.type === PartitionType.DATA && p.subtype === DataSubtype.NVS_KEYS);
            const sc = boot.partitions.find(p => p.type === ESP_SECURE_CERT_TYPE);
            if (fctry) {
                fctryOffset = fctry.offset;
                fctryBytes = chip.flashRead(fctry.offset, fctry.size);
            }
            if (keysPart) {
                const k = chip.flashRead(keysPart.offset, 4096);
                if (!k.subarray(0, 68).every(b => b === 0xff)) {
                    keysBytes = k;
                    nvsEncryption = true;
                }
            }
            if (sc) secureCert = chip.flashRead(sc.offset, sc.size);
            if (fw.error) {
                const code = fw.error.code;
                let cause: string | undefined;
                let issues: string[] | undefined;
                const elsewhere = findFactoryImages(image).filter(a => a !== fctry?.offset);
                if (code === "ESP_ERR_NVS_PART_NOT_FOUND" && elsewhere.length) {
                    cause = `no partition labelled '${label}' in the table, but a chip-factory NVS image is in flash at ${elsewhere.map(hex).join(", ")}: the factory image was flashed where the partition table has no ${label} partition`;
                    issues = ["esp-matter#443"];
                } else if (code === "ESP_ERR_NVS_NOT_FOUND" && fctryBytes && fctryBytes.every(b => b === 0xff)) {
                    cause = `the ${label} partition at ${hex(fctry!.offset)} is blank${elsewhere.length ? `; a chip-factory NVS image is at ${elsewhere.map(hex).join(", ")}: flashed at the wrong offset` : ": the factory image was never flashed there"}`;
                    issues = ["esp-matter#1054", "esp-matter#443"];
                } else if (code === "ESP_ERR_NVS_NOT_FOUND" && nvsEncryption && fctryBytes && chipFactoryReadable(fctryBytes)) {
                    cause = `the ${label} image is plaintext, but the device has nvs_keys and decrypts it (CONFIG_NVS_ENCRYPTION): generate it with -e/--encrypt and these keys, or build without NVS encryption`;
                    issues = ["esp-matter#808"];
                } else if (code === "ESP_ERR_NVS_NOT_FOUND" && nvsEncryption && fctryBytes && !chipFactoryReadable(fctryBytes, safeKeys(keysBytes))) {
                    cause = `the ${label} image holds entries that do not decrypt with the device's nvs_keys: the keys were regenerated, or the image was encrypted with another keys partition`;
                    issues = ["esp-idf#5747", "esp-idf#14848"];
                } else if (code === "ESP_ERR_NVS_NOT_FOUND" && fw.reads.some(r => !r.ok && r.key === "dac-cert") && secureCert && !secureCert.subarray(0, 4).every(b => b === 0xff)) {
                    cause = "dac-cert is not in chip-factory but the esp_secure_cert partition holds a DAC: the batch was generated with --dac-in-secure-cert; build the firmware with CONFIG_SEC_CERT_DAC_PROVIDER";
                    issues = ["esp-matter#574"];
                } else if (code === "ESP_ERR_NVS_CORRUPT_KEY_PART" && chip.flashEncryption && keysPart) {
                    const raw = chip.flashReadRaw(keysPart.offset, 68);
                    if (rawKeysCrcOk(raw)) {
                        cause = "the nvs_keys partition is stored in plaintext (its CRC is right without decryption) on a flash-encrypted chip: it was flashed without `esptool --encrypt`";
                        issues = ["esp-idf#9287"];
                    }
                }
                find(code, code === "ESP_ERR_NVS_NO_FREE_PAGES" || code === "ESP_ERR_NVS_PART_NOT_FOUND" ? "boot" : "factory-data", fw.error.message, cause, issues);
            }
        }
    } else {
        fctryBytes = image;
        keysBytes = o.keysPartition;
        nvsEncryption = keysBytes !== undefined;
        report.bootLog = [];
        const r = readFactoryData({ nvs: image, ...(keysBytes ? { nvsKeysPartition: keysBytes } : {}), partitionLabel: label });
        report.reads = r.reads;
        factoryData = r.data;
        if (r.error) {
            let cause: string | undefined;
            let issues: string[] | undefined;
            if (r.error.code === "ESP_ERR_NVS_NOT_FOUND" && keysBytes && chipFactoryReadable(image)) {
                cause = "the partition is plaintext but was read with nvs_keys (NVS encryption on the device)";
                issues = ["esp-matter#808"];
            } else if (r.error.code === "ESP_ERR_NVS_NOT_FOUND" && !keysBytes && looksNvsEncrypted(plaintextItemStats(image))) {
                cause = "the partition's entries do not read in plaintext: it is NVS-encrypted (pass --keys <keys-partition.bin>)";
            }
            find(r.error.code, "factory-data", r.error.message, cause, issues);
        } else {
            try {
                const { validateFactoryData } = await import("../../emulator/device/index.js");
                validateFactoryData(r.data);
            } catch (e) {
                if (!(e instanceof DiagnosticError)) throw e;
                find(e.code, "factory-data", e.message);
            }
        }
    }

    // what chip-factory holds (secrets redacted)
    if (fctryBytes) {
        try {
            const nvs = mountNvs(fctryBytes, { readOnly: true, ...(nvsEncryption ? { keys: safeKeys(keysBytes) } : {}) });
            report.factory = {
                label, offset: fctryOffset, size: fctryBytes.length, nvsEncryption,
                entries: nvs.entries().map(e => ({ namespace: e.namespace, key: e.key, type: e.type, value: redact(e) })),
            };
            const forbidden = findForbiddenKeys(nvs);
            if (forbidden.length) find("SecurityFinding", "security", `chip-factory stores ${forbidden.join(", ")}`);
        } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
            report.factory = { label, offset: fctryOffset, size: fctryBytes.length, nvsEncryption, entries: [] };
        }
    }

    const fd = findings.length === 0 ? (factoryData as DeviceFactoryData | undefined) : undefined;
    // the label
    let passcode: number | undefined;
    let discriminator: number | undefined;
    if (o.code !== undefined && fd) {
        try {
            const p = parseOnboardingCode(o.code).payloads[0]!;
            passcode = p.passcode;
            discriminator = p.discriminator ?? undefined;
            const problems: string[] = [];
            if (p.discriminator !== undefined && p.discriminator !== null && p.discriminator !== fd.discriminator) problems.push(`discriminator ${p.discriminator} ≠ chip-factory ${fd.discriminator}`);
            else if (p.shortDiscriminator !== undefined && p.shortDiscriminator !== fd.discriminator >> 8) problems.push(`short discriminator ${p.shortDiscriminator} ≠ chip-factory ${fd.discriminator >> 8}`);
            if (p.vendorId !== undefined && p.vendorId !== null && p.vendorId !== 0 && (p.vendorId !== fd.vendorId || p.productId !== fd.productId)) problems.push(`VID/PID ${p.vendorId}/${p.productId} ≠ chip-factory ${fd.vendorId}/${fd.productId}`);
            if (problems.length) find("OnboardingPayloadMismatch", "label", problems.join("; "));
            if (!verifyPasscodeAgainstVerifier(p.passcode, fd.salt, fd.iterationCount, fd.verifier)) {
                find("PaseKeyConfirmationFailed", "label", "the code's passcode does not reproduce the device's SPAKE2+ verifier (PASE will fail at key confirmation)");
            }
        } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
            find(e.code, "label", e.message);
        }
    }
    // attestation, offline: what a strict commissioner with this trust store will say
    if (o.trust && fd) {
        const resp = createAttestationResponse({ certificationDeclaration: fd.certDeclaration, dacKey: keyFromScalar(fd.dacKey) });
        const v = verifyAttestation({ dac: fd.dacCert, pai: fd.paiCert, attestationElements: resp.attestationElements, attestationChallenge: resp.attestationChallenge, signature: resp.signature, nonce: resp.nonce, vendorId: fd.vendorId, productId: fd.productId }, o.trust, { allowTestKeys: o.allowTestKeys ?? false });
        if (v.result !== "Success") find(v.result, "attestation", `${v.result} (${v.code}): ${v.detail}`);
    }

    // everything reads: commission the virtual device for real
    if (findings.length === 0 && o.commission !== false && chip && passcode !== undefined && o.trust) {
        report.commissioning = await commissionVirtual(chip, passcode, discriminator, o);
        if (!report.commissioning.ok) {
            const code = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(report.commissioning.detail)?.[1] ?? "CHIP_ERROR_INTERNAL";
            find(code, "commissioning", report.commissioning.detail);
        }
    } else if (findings.length === 0) {
        report.commissioning.detail = report.input === "partition"
            ? "not attempted: a bare partition has no firmware to boot (pass a full flash dump)"
            : `not attempted: needs ${[passcode === undefined ? "--code" : "", o.trust ? "" : "--paa-store"].filter(Boolean).join(" and ")}`;
    }
    report.ok = findings.length === 0;
    return report;
}

function safeKeys(keys: Uint8Array | undefined): NvsKeys | undefined {
    try {
        return keys ? decodeNvsKeys(keys) : undefined;
    } catch {
        return undefined;
    }
}

function rawKeysCrcOk(raw: Uint8Array): boolean {
    const stored = (raw[64]! | (raw[65]! << 8) | (raw[66]! << 16) | (raw[67]! << 24)) >>> 0;
    return espCrc32(raw.subarray(0, 64)) === stored || crc32le(0, raw.subarray(0, 64)) === stored;
}

async function commissionVirtual(chip: VirtualEsp32, passcode: number, discriminator: number | undefined, o: DiagnoseOptions): Promise<DiagnoseReport["commissioning"]> {
    const { Commissioner, quietMatterLogs } = await import("../commissioner/index.js");
    const { strictAttestationHook } = await import("../gate/gate.js");
    const { LogLevel } = await import("@matter/main");
    quietMatterLogs(process.env.MFGSIM_DEBUG ? LogLevel.INFO : LogLevel.FATAL);
    const boot = bootChip(chip);
    const fw = await startFirmware(chip, boot, { port: 0, factoryPartitionLabel: o.factoryLabel ?? "fctry" });
    if (!fw.ok || !fw.device) return { attempted: true, ok: false, detail: `${fw.error?.code ?? "ESP_FAIL"}: ${fw.error?.message ?? "device did not start"}`, steps: [] };
    const commissioner = await Commissioner.start();
    try {
        const address = { ip: "127.0.0.1", port: fw.device.port };
        commissioner.registry.setCommissionable(address, fw.device.advertisement);
        const r = await commissioner.commission({ address, passcode, ...(discriminator !== undefined ? { discriminator } : {}), attestation: strictAttestationHook(o.trust!, { allowTestKeys: o.allowTestKeys ?? false }) });
        if (r.nodeId !== undefined) await commissioner.disconnect(r.nodeId).catch(() => undefined);
        return {
            attempted: true, ok: r.ok,
            detail: r.ok ? "commissioned: PASE, attestation, NOC, CASE and Basic Information read" : `${r.error ?? "CHIP_ERROR_INTERNAL"}: ${r.message ?? "commissioning failed"}`,
            steps: r.steps.map(s => ({ name: s.name, status: s.status, detail: s.detail })),
        };
    } finally {
        await fw.device.stop().catch(() => undefined);
        await commissioner.close();
    }
}
