/**
 * `dev.update(…)`: a Matter OTA of a scenario's device. The device's flash is powered on with the OTA requestor
 * (harness/ota VirtualOtaDevice), commissioned once by the line's OTA provider (a controller with its own fabric,
 * strict attestation against the line's PAA), and updated over BDX on loopback: query → download into the next
 * OTA slot → verify → otadata → reboot through the bootloader → self-test → VALID (or rollback). The device stays
 * powered between updates of the same scenario (flash, otadata, fabrics carry over), so a story can go
 * "power cut → still runs v1 → the retry succeeds".
 */
import { buildAppImage } from "../../emulator/bootloader_support/index.js";
import type { ChipName } from "../../emulator/esp32/index.js";
import { createOtaImage } from "../../emulator/ota_image/index.js";
import type { OtaEvent } from "../../emulator/device/ota_requestor.js";
import type { OtaOutcome, OtaStatus, ProviderFaults } from "../../harness/ota/index.js";
import { StepOutcome } from "./outcome.js";

/** A Matter OTA file to build for the device (ota_image_tool.py create with an ESP app image inside). */
export interface OtaImageOptions {
    /** SoftwareVersion of the image (default: the running version + 1). */
    version?: number;
    /** Default: the device's (factory data). */
    vendorId?: number;
    productId?: number;
    minApplicableVersion?: number;
    maxApplicableVersion?: number;
    /** Size of the ESP app image inside (default 16 KiB: small images keep scenarios fast). */
    size?: number;
    /** esp_app_desc_t.secure_version (anti-rollback). */
    secureVersion?: number;
}

/** How an update goes: the provider, faults on the way, power, the new firmware's self-test. */
export interface UpdateOptions extends OtaImageOptions {
    /**
     * "matter" (default): the provider follows the Matter rules (same VID/PID, newer, min/max applicable) and answers
     * QueryImage NotAvailable otherwise. "any": it serves the image whatever the rules, like `chip-ota-provider-app
     * -f file.ota`, so the device's own checks decide.
     */
    provider?: "matter" | "any";
    /**
     * Provider faults: `abortAfterBytes`/`abortCount` (BDX StatusReport partway), `stallAfterBytes` (the provider
     * goes silent partway: `timeout` at `timeoutMs`), `flipBitAt` (a bit flipped in transfer).
     */
    faults?: Omit<ProviderFaults, "serveAnything">;
    /** Power is lost at the Nth flash write/erase of the update (1-based), then the chip powers on again. */
    powerLossAtOp?: number;
    /** Power is lost at the Nth flash operation of esp_ota_set_boot_partition (1 = otadata sector erase, 2 = entry write). */
    powerLossInOtadataAtOp?: number;
    /** The new firmware's self-test after the reboot (default "pass"; "fail": it marks itself INVALID and reboots). */
    selfTest?: "pass" | "fail";
    /** Overall budget (default 20 s). */
    timeoutMs?: number;
}

export type UpdateStatus = OtaStatus | "boot-failed" | "commission-failed";

/** Builds the OTA file for `o` (the app image is an ESP-IDF image for `chip` with the Matter SoftwareVersion set). */
export function buildOtaFile(o: OtaImageOptions & { version: number; vendorId: number; productId: number; chip: ChipName }): Uint8Array {
    const app = buildAppImage({
        chip: o.chip, version: `${o.version}.0`, projectName: "light", matterSoftwareVersion: o.version, size: o.size ?? 16 * 1024,
        ...(o.secureVersion !== undefined ? { secureVersion: o.secureVersion } : {}),
    });
    return createOtaImage(
        {
            vendorId: o.vendorId, productId: o.productId, softwareVersion: o.version, softwareVersionString: `${o.version}.0`, digestAlgorithm: "sha256",
            ...(o.minApplicableVersion !== undefined ? { minApplicableVersion: o.minApplicableVersion } : {}),
            ...(o.maxApplicableVersion !== undefined ? { maxApplicableVersion: o.maxApplicableVersion } : {}),
        },
        app,
    ).image;
}

/**
 * What an update did. `ok` only for `updated`; otherwise `toFailWith` matches the code the field sees (NotAvailable,
 * ProductIdMismatch, NotNewer, DigestMismatch, ESP_ERR_IMAGE_INVALID, ESP_ERR_OTA_SMALL_SEC_VER, POWER_LOSS,
 * SelfTestFailed, CHIP_ERROR_CONNECTION_ABORTED, …) or the status (`power-loss`, `rolled-back`, …).
 * `toContain` searches the requestor's events, the boot log of every reboot, the otadata states
 * ("otadata: [0] seq 1 VALID, [1] seq 2 INVALID; running ota_0") and the detail.
 */
export class UpdateOutcome extends StepOutcome {
    readonly status: UpdateStatus;
    readonly code: string | undefined;
    readonly detail: string;
    readonly softwareVersionBefore: number | undefined;
    /** What Basic Information reports over CASE after the update (null: the device could not be read). */
    readonly softwareVersionAfter: number | null;
    /** The slot the chip runs from afterwards (ota_0, ota_1). */
    readonly bootSlot: string | undefined;
    /** otadata entry states after the update, e.g. ["VALID", "UNDEFINED"]. */
    readonly otadata: readonly [string, string] | undefined;
    /** The requestor's decisions (refused, installed, boot-partition-set, power-loss, version-applied). */
    readonly events: readonly OtaEvent[];
    /** The console of every boot during the update (reboot into the new image, rollback, power-on after a power loss). */
    readonly boots: ReadonlyArray<readonly string[]>;
    readonly timings: OtaOutcome["timings"];

    constructor(r: Pick<OtaOutcome, "detail" | "softwareVersionAfter" | "events" | "timings"> & { status: UpdateStatus; code?: string; softwareVersionBefore?: number; bootSlot?: string; otadata?: [string, string] }, boots: string[][]) {
        const ok = r.status === "updated";
        const code = r.code ?? (ok ? undefined : "ESP_FAIL");
        const names = [r.status, ...r.events.filter(e => e.kind === "refused" && e.code).map(e => e.code!)];
        const log = [
            ...r.events.map(e => `${e.kind}: ${e.code ? `${e.code}: ` : ""}${e.message}`),
            ...boots.flat(),
            ...(r.otadata ? [`otadata: [0] ${r.otadata[0]}, [1] ${r.otadata[1]}; running ${r.bootSlot ?? "nothing"}`] : []),
            r.detail,
        ];
        super("update", ok, log, ok ? undefined : { code: code!, message: r.detail.startsWith(`${code}:`) ? r.detail.slice(code!.length + 1).trim() : r.detail }, ok ? [] : names, ok ? r.detail : undefined);
        this.status = r.status;
        this.code = code;
        this.detail = r.detail;
        this.softwareVersionBefore = r.softwareVersionBefore;
        this.softwareVersionAfter = r.softwareVersionAfter;
        this.bootSlot = r.bootSlot;
        this.otadata = r.otadata;
        this.events = r.events;
        this.boots = boots;
        this.timings = r.timings;
    }

    /** Every boot's console lines, in order (what `idf.py monitor` showed across the reboots). */
    get bootLog(): readonly string[] {
        return this.boots.flat();
    }
}
