/** The gate's `ota` check: boot the device's flash with the requestor, commission it, update it, self-test. */
import { readFile } from "node:fs/promises";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import type { FirmwareOptions, VirtualEsp32 } from "../../emulator/esp32/index.js";
import type { AttestationHook } from "../commissioner/types.js";
import { performOta, VirtualOtaDevice } from "./ota.js";
import { OtaProvider } from "./provider.js";

export interface OtaCheckContext {
    /** The device as flashed (app v1 in ota_0, fctry, nvs_keys, esp_secure_cert), fresh: not yet commissioned. */
    chip: VirtualEsp32;
    /** The label's passcode. */
    passcode: number;
    /** The strict attestation hook (gate's strictAttestationHook(trust, options)). */
    attestation?: AttestationHook;
    /** How the firmware reads its factory data (NVS encryption, DAC provider). */
    firmware?: Omit<FirmwareOptions, "storage" | "port">;
}

export interface OtaCheckResult {
    status: "pass" | "fail";
    detail: string;
    softwareVersionAfterOta: number | null;
}

/** Reads an OTA image file (exit-2 style error when unreadable). */
export async function readOtaImageFile(imageFile: string): Promise<Uint8Array> {
    try {
        return new Uint8Array(await readFile(imageFile));
    } catch (e) {
        throw new DiagnosticError("ENOENT", `cannot read OTA image: ${(e as Error).message}`, { file: imageFile });
    }
}

export async function otaCheck(context: OtaCheckContext, image: Uint8Array | string): Promise<OtaCheckResult> {
    const bytes = typeof image === "string" ? await readOtaImageFile(image) : image;
    const dev = new VirtualOtaDevice({ chip: context.chip, ...(context.firmware ? { firmware: context.firmware } : {}) });
    let provider: OtaProvider | undefined;
    try {
        provider = await OtaProvider.start({ images: [bytes] });
        const fw = await dev.powerOn();
        if (!fw.ok) return { status: "fail", detail: `${fw.error?.code}: ${fw.error?.message}`, softwareVersionAfterOta: null };
        const nodeId = await provider.commission({ address: { ip: "127.0.0.1", port: dev.port! }, passcode: context.passcode, ...(context.attestation ? { attestation: context.attestation } : {}) });
        const r = await performOta(provider, dev, nodeId);
        const ms = Math.round(r.timings.totalMs);
        const detail = r.status === "updated" ? `${r.detail} (${ms} ms${r.timings.bdxKiBps ? `, BDX ${Math.round(r.timings.bdxKiBps)} KiB/s` : ""})` : r.code && !r.detail.startsWith(r.code) ? `${r.code}: ${r.detail}` : r.detail;
        return { status: r.status === "updated" ? "pass" : "fail", detail, softwareVersionAfterOta: r.softwareVersionAfter };
    } catch (e) {
        return { status: "fail", detail: e instanceof DiagnosticError ? `${e.code}: ${e.message}` : (e as Error).message, softwareVersionAfterOta: null };
    } finally {
        await dev.powerOff();
        await provider?.close();
    }
}
