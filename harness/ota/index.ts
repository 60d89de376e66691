/** harness/ota: the OTA provider, the virtual device across reboots, performOta and the gate's `ota` check. */
import { readFile } from "node:fs/promises";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { appImage, makeChip } from "./testing.js";
import { OtaProvider } from "./provider.js";
import { performOta, VirtualOtaDevice } from "./ota.js";
import type { AttestationHook } from "../commissioner/types.js";

export * from "./provider.js";
export * from "./ota.js";

export interface OtaCheckContext {
    /** The device's factory NVS partition (fctry) as the gate read it. */
    fctry: Uint8Array;
    /** The label's passcode. */
    passcode: number;
    /** The strict attestation hook (gate's strictAttestationHook(trust, options)). */
    attestation?: AttestationHook;
    /** The app image running before the update (default: a v1 esp32c3 app with Matter SoftwareVersion 1). */
    currentApp?: Uint8Array;
}

export interface OtaCheckResult {
    status: "pass" | "fail";
    detail: string;
    softwareVersionAfterOta: number | null;
}

/** The gate's `ota` check: boot the device's flash, commission it, update it with `imageFile`, self-test. */
export async function otaCheck(context: OtaCheckContext, imageFile: string): Promise<OtaCheckResult> {
    let image: Uint8Array;
    try {
        image = new Uint8Array(await readFile(imageFile));
    } catch (e) {
        throw new DiagnosticError("ENOENT", `cannot read OTA image: ${(e as Error).message}`, { file: imageFile });
    }
    const dev = new VirtualOtaDevice({ chip: makeChip({ fctry: context.fctry }, { app: context.currentApp ?? appImage(1) }) });
    const provider = await OtaProvider.start({ images: [image] });
    try {
        const fw = await dev.powerOn();
        if (!fw.ok) return { status: "fail", detail: `${fw.error?.code}: ${fw.error?.message}`, softwareVersionAfterOta: null };
        const nodeId = await provider.commission({ address: { ip: "127.0.0.1", port: dev.port! }, passcode: context.passcode, ...(context.attestation ? { attestation: context.attestation } : {}) });
        const r = await performOta(provider, dev, nodeId);
        return { status: r.status === "updated" ? "pass" : "fail", detail: r.code && !r.detail.startsWith(r.code) ? `${r.code}: ${r.detail}` : r.detail, softwareVersionAfterOta: r.softwareVersionAfter };
    } catch (e) {
        return { status: "fail", detail: e instanceof DiagnosticError ? `${e.code}: ${e.message}` : (e as Error).message, softwareVersionAfterOta: null };
    } finally {
        await dev.powerOff();
        await provider.close();
    }
}
