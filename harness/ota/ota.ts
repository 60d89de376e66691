/**
 * A Matter OTA end to end on the virtual ESP32: the provider announces itself, the device's requestor queries,
 * downloads over BDX, streams the image into the next OTA slot (esp_ota_ops), sets the boot partition (NEW) and
 * reboots; the chip boots through the bootloader (NEW → PENDING_VERIFY), the firmware starts, and the harness's
 * self-test (the device is up, still in the fabric, CASE reconnects, Basic Information reports the new
 * SoftwareVersion) marks the app VALID — or INVALID and reboots, so the bootloader rolls back.
 */
import { OtaSoftwareUpdateRequestor } from "@matter/main/clusters/ota-software-update-requestor";
import { EspOta } from "../../emulator/app_update/esp_ota_ops.js";
import { MemoryStorageBackend, type RunningDevice } from "../../emulator/device/index.js";
// Static on purpose: the requestor behavior must come from the same matter.js instance as the device's node.
import { controlOtaTimers, EspOtaRequestorServer, type OtaEvent, type OtaPlatform, otaRequestorOptions, setPeerOperationalAddress } from "../../emulator/device/ota_requestor.js";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { type BootOptions, type BootResult, bootChip, type FirmwareOptions, type FirmwareResult, secureBootTrust, startFirmware, type VirtualEsp32 } from "../../emulator/esp32/index.js";
import { releaseBdxContexts, trackBdxContexts } from "./bdx_release.js";
import type { OtaProvider } from "./provider.js";

export interface VirtualOtaDeviceOptions {
    chip: VirtualEsp32;
    /** sdkconfig of bootloader and app: rollback defaults to true (esp-matter's OTA examples enable it). */
    boot?: BootOptions;
    firmware?: Omit<FirmwareOptions, "storage" | "port">;
}

type Signal = { kind: "idle"; reason: number } | { kind: "reboot"; reason: string } | { kind: "power-loss"; code: string; message: string } | { kind: "refused"; code: string; message: string };

/** One virtual ESP32 running the Matter firmware with the OTA requestor, across reboots and power cycles. */
export class VirtualOtaDevice {
    readonly chip: VirtualEsp32;
    /** The nvs partition's content (fabrics, ACLs): survives reboots like flash does. */
    readonly storage = new MemoryStorageBackend();
    readonly events: OtaEvent[] = [];
    readonly bootOptions: BootOptions;
    readonly firmwareOptions: Omit<FirmwareOptions, "storage" | "port">;
    boot?: BootResult;
    firmware?: FirmwareResult;
    running?: RunningDevice;
    ota?: EspOta;
    boots = 0;
    /** The console of every power-on (bootloader + app lines), in order. */
    readonly consoles: string[][] = [];
    /** Called with every requestor event (performOta schedules otadata power loss from here). */
    onEvent?: (event: OtaEvent) => void;
    /** The requestor's UpdateState as its transitions happen. */
    liveState?: number;
    /** Every UpdateState transition (state, ChangeReason, performance.now()). */
    readonly transitions: Array<{ state: number; reason: number; at: number }> = [];
    #signals: Signal[] = [];
    #waiters: Array<() => void> = [];
    #provider?: { nodeId: bigint; port: number };
    /** The requestor's update-in-progress record, kept in "NVS" across the reboot. */
    #updateInProgress?: unknown;

    constructor(options: VirtualOtaDeviceOptions) {
        this.chip = options.chip;
        this.bootOptions = { rollback: true, ...(options.boot ?? {}) };
        this.firmwareOptions = options.firmware ?? {};
    }

    /** Where the provider listens (the device reaches it by CASE without mDNS). */
    useProvider(provider: OtaProvider): void {
        this.#provider = { nodeId: provider.nodeId, port: provider.port };
        if (this.running) setPeerOperationalAddress(this.running, provider.nodeId, { ip: "127.0.0.1", port: provider.port });
    }

    get port(): number | undefined {
        return this.running?.port;
    }

    get softwareVersion(): number | undefined {
        return this.firmware?.firmware?.softwareVersion;
    }

    get bootSlot(): string | undefined {
        return this.boot?.app?.partition.label;
    }

    /** Power on: ROM → bootloader → app → Matter device with the requestor. */
    async powerOn(): Promise<FirmwareResult> {
        trackBdxContexts();
        this.chip.flash.powerOn();
        this.boots++;
        this.#signals = [];
        const boot = bootChip(this.chip, this.bootOptions);
        this.boot = boot;
        this.firmware = undefined;
        this.running = undefined;
        this.ota = undefined;
        if (!boot.ok || !boot.app) {
            const fw = await startFirmware(this.chip, boot, { ...this.firmwareOptions, storage: this.storage, port: 0 });
            this.firmware = fw;
            this.consoles.push([...fw.log]);
            return fw;
        }
        const running = boot.app;
        const partition = this.chip.partitionTable.find(p => p.offset === running.partition.offset)!;
        const ef = this.chip.efuses;
        const ota = new EspOta(this.chip, {
            running: partition,
            chip: this.chip.chip,
            rollback: this.bootOptions.rollback ?? false,
            ...(this.bootOptions.antiRollback ? { efuseSecureVersion: ef.secureVersion() } : {}),
            ...(ef.secureBootEnabled() ? { secureBoot: secureBootTrust(this.chip) } : {}),
        });
        const platform: OtaPlatform = {
            ota,
            reboot: reason => this.#signal({ kind: "reboot", reason }),
            powerLost: e => this.#signal({ kind: "power-loss", code: e.code, message: e.message }),
            record: ev => {
                this.events.push(ev);
                this.onEvent?.(ev);
                if (ev.kind === "refused" || ev.kind === "error") this.#signal({ kind: "refused", code: ev.code ?? "CHIP_ERROR_INTERNAL", message: ev.message });
            },
            stateChanged: (state, reason) => {
                this.liveState = state;
                this.transitions.push({ state, reason, at: performance.now() });
                if (state === OtaSoftwareUpdateRequestor.UpdateState.Idle) this.#signal({ kind: "idle", reason });
            },
            saveUpdateInProgress: d => void (this.#updateInProgress = d ?? undefined),
            loadUpdateInProgress: () => this.#updateInProgress,
            peers: () => (this.#provider ? [{ nodeId: this.#provider.nodeId, ip: "127.0.0.1", port: this.#provider.port }] : []),
        };
        const { rootBehaviors, configureEnvironment } = otaRequestorOptions(platform);
        const fw = await startFirmware(this.chip, boot, { ...this.firmwareOptions, storage: this.storage, port: 0, rootBehaviors, configureEnvironment });
        this.firmware = fw;
        this.consoles.push([...fw.log]);
        if (!fw.ok || !fw.device) return fw;
        this.running = fw.device;
        this.ota = ota;
        return fw;
    }

    /** Power off (or the chip restarts): the Matter stack goes away, flash and storage stay. */
    async powerOff(): Promise<void> {
        const r = this.running;
        this.running = undefined;
        this.ota = undefined;
        // a failed BDX download of matter.js's requestor leaves its request open, and the node would never close
        if (r) await releaseBdxContexts(r.node).catch(() => undefined);
        await r?.stop().catch(() => undefined);
    }

    async restart(): Promise<FirmwareResult> {
        await this.powerOff();
        return this.powerOn();
    }

    /** The requestor's UpdateState (Idle, Querying, Downloading, Applying, …). */
    updateState(): number | undefined {
        if (!this.running) return undefined;
        return (this.running.node.stateOf(EspOtaRequestorServer) as { updateState: number }).updateState;
    }

    clearSignals(): void {
        this.#signals = [];
    }

    takeSignal(): Signal | undefined {
        return this.#signals.shift();
    }

    /** Resolves on the next signal or after `ms`. */
    waitSignal(ms: number): Promise<void> {
        if (this.#signals.length) return Promise.resolve();
        return new Promise(resolve => {
            const t = setTimeout(done, ms);
            const waiters = this.#waiters;
            function done() {
                clearTimeout(t);
                const i = waiters.indexOf(done);
                if (i >= 0) waiters.splice(i, 1);
                resolve();
            }
            waiters.push(done);
        });
    }

    #signal(s: Signal): void {
        this.#signals.push(s);
        for (const w of this.#waiters.splice(0)) w();
    }
}

export type OtaStatus = "updated" | "not-available" | "refused" | "download-failed" | "power-loss" | "rolled-back" | "timeout";

export interface OtaOutcome {
    status: OtaStatus;
    /** Matter status (QueryImage NotAvailable), CHIP / esp_err_t name or the OTA rejection (VendorIdMismatch, DigestMismatch, …). */
    code?: string;
    detail: string;
    softwareVersionBefore?: number;
    /** What Basic Information reports after the run (null when the device could not be read). */
    softwareVersionAfter: number | null;
    /** Slot the chip runs from after the run. */
    bootSlot?: string;
    /** otadata state names after the run (sector 0, sector 1). */
    otadata?: [string, string];
    timings: { totalMs: number; transferMs?: number; bdxBytes?: number; bdxKiBps?: number; rebootMs?: number; selfTestMs?: number };
    events: OtaEvent[];
}

export interface PerformOtaOptions {
    /** Overall budget (default 20 s). */
    timeoutMs?: number;
    /** Power is lost at the Nth flash write/erase (1-based) after the announcement. */
    powerLossAtOp?: number;
    /** Power is lost at the Nth flash operation of esp_ota_set_boot_partition (1 = otadata sector erase, 2 = entry write). */
    powerLossInOtadataAtOp?: number;
    /** Replace the self-test verdict (tests: a firmware whose self-test fails). */
    selfTest?: (device: VirtualOtaDevice, version: number | undefined) => boolean | Promise<boolean>;
    /** Delay of the shortened "OTA Request" timer (default 1 ms). */
    queryDelayMs?: number;
}

/** The requestor's UpdateState by its name in the cluster (Downloading, Idle…). */
function updateStateName(state: number | undefined): string {
    return state === undefined ? "state unknown" : (OtaSoftwareUpdateRequestor.UpdateState[state] ?? `state ${state}`);
}

function otadataStates(dev: VirtualOtaDevice): [string, string] | undefined {
    return dev.boot?.selection?.states;
}

/**
 * One update attempt of `dev` (commissioned as `nodeId` by `provider`). Never throws for a device-side failure:
 * the outcome says what happened and the device is left running (booted again after a reboot or power loss).
 */
export async function performOta(provider: OtaProvider, dev: VirtualOtaDevice, nodeId: bigint, options: PerformOtaOptions = {}): Promise<OtaOutcome> {
    const t0 = performance.now();
    const deadline = t0 + (options.timeoutMs ?? 20_000);
    const before = dev.softwareVersion;
    const events0 = dev.events.length;
    const timers = controlOtaTimers({ delayMs: options.queryDelayMs ?? 1 });
    const q0 = provider.queries.length;
    const tr0 = provider.transfers.length;
    const stalled0 = provider.stalled;
    const finish = async (status: OtaStatus, detail: string, extra: Partial<OtaOutcome> = {}): Promise<OtaOutcome> => {
        timers.restore();
        dev.onEvent = undefined;
        const transfer = provider.transfers[tr0];
        const bdxKiBps = transfer && transfer.ms > 0 ? transfer.bytes / 1024 / (transfer.ms / 1000) : undefined;
        let after: number | null = null;
        if (dev.running) {
            try {
                provider.setDeviceAddress(nodeId, { ip: "127.0.0.1", port: dev.running.port });
                after = (await provider.readBasicInformation(nodeId)).softwareVersion ?? null;
            } catch {
                after = null;
            }
        }
        return {
            status, detail, softwareVersionBefore: before, softwareVersionAfter: extra.softwareVersionAfter !== undefined ? extra.softwareVersionAfter : after,
            bootSlot: dev.bootSlot, otadata: otadataStates(dev),
            ...extra,
            timings: { ...(extra.timings ?? {}), totalMs: performance.now() - t0, ...(transfer ? { transferMs: transfer.ms, bdxBytes: transfer.bytes } : {}), ...(bdxKiBps ? { bdxKiBps } : {}) },
            events: dev.events.slice(events0),
        };
    };
    if (!dev.running) return finish("timeout", "the device is not running");
    dev.clearSignals();
    const inOtadata = options.powerLossInOtadataAtOp;
    dev.onEvent = inOtadata === undefined ? undefined : ev => {
        if (ev.kind === "installed") dev.chip.flash.schedulePowerLoss(dev.chip.flash.opCount + inOtadata);
    };
    if (options.powerLossAtOp !== undefined) dev.chip.flash.schedulePowerLoss(dev.chip.flash.opCount + options.powerLossAtOp);
    dev.useProvider(provider);
    provider.setDeviceAddress(nodeId, { ip: "127.0.0.1", port: dev.running.port });
    timers.arm(1);
    try {
        await provider.announce(nodeId);
    } catch (e) {
        dev.chip.flash.schedulePowerLoss(undefined);
        return finish("timeout", `AnnounceOTAProvider failed: ${(e as Error).message}`, { code: e instanceof DiagnosticError ? e.code : "CHIP_ERROR_TIMEOUT" });
    }
    let signal: Signal | undefined;
    while (performance.now() < deadline) {
        await dev.waitSignal(Math.max(1, deadline - performance.now()));
        signal = dev.takeSignal();
        if (!signal) continue;
        if (signal.kind !== "idle") break;
        // the requestor went back to Idle by itself: a refusal signal (recorded first) wins if one follows at once
        await new Promise(r => setTimeout(r, 10));
        const next = dev.takeSignal();
        if (next && next.kind !== "idle") {
            signal = next;
            break;
        }
        const q = provider.queries[q0];
        dev.chip.flash.schedulePowerLoss(undefined);
        if (!q) continue; // an Idle from before the query
        if (q.status === "NotAvailable") return finish("not-available", `QueryImage → NotAvailable (${q.why ?? "no image"})`, { code: "NotAvailable" });
        if (provider.transfers.length === tr0) {
            // matter.js's requestor ignores an offered version that is not newer than the running one
            const code = q.offeredVersion !== undefined && q.offeredVersion <= q.softwareVersion ? "NotNewer" : "CHIP_ERROR_INCORRECT_STATE";
            return finish("refused", `${code}: the requestor ignored the offered SoftwareVersion ${q.offeredVersion} (running ${q.softwareVersion}) and is Idle; nothing downloaded`, { code });
        }
        const attempts = provider.transfers.slice(tr0);
        const aborted = attempts.filter(x => x.aborted).length;
        return finish(
            "download-failed",
            `BDX transfer did not complete: ${attempts.length} attempt(s), ${aborted} cancelled by the provider (StatusReport TransferFailedUnknownError); the requestor is Idle again (ChangeReason ${signal.reason === OtaSoftwareUpdateRequestor.ChangeReason.Failure ? "Failure" : signal.reason})`,
            { code: "CHIP_ERROR_CONNECTION_ABORTED" },
        );
    }
    dev.chip.flash.schedulePowerLoss(undefined);
    if (!signal || signal.kind === "idle") {
        const stalled = provider.transfers.slice(tr0).filter(x => !x.finished && !x.aborted);
        if (stalled.length > 0 && provider.stalled > stalled0) {
            // The provider went silent mid-transfer; a real requestor waits out its 5-minute BDX idle timeout. The
            // harness gives up at its deadline and fails the stalled transfer, so the device is Idle for what follows.
            const at = stalled.at(-1)!;
            const state = updateStateName(dev.liveState);
            const faults = provider.faults;
            provider.failStalledTransfers();
            await waitIdle(dev, performance.now() + 5000);
            provider.faults = { ...faults, stallAfterBytes: undefined };
            return finish(
                "timeout",
                `BDX transfer stalled: no block from the provider after ${at.bytes} bytes and no outcome within ${options.timeoutMs ?? 20_000} ms ` +
                    `(requestor ${state}; a device waits its 5-minute BDX idle timeout). The harness then failed the transfer: requestor ${updateStateName(dev.liveState)}`,
                { code: "CHIP_ERROR_TIMEOUT" },
            );
        }
        return finish("timeout", `no outcome within ${options.timeoutMs ?? 20_000} ms (requestor ${updateStateName(dev.liveState)})`);
    }

    if (signal.kind === "refused") {
        await waitIdle(dev, deadline);
        return finish("refused", `${signal.code}: ${signal.message}`, { code: signal.code });
    }
    if (signal.kind === "power-loss") {
        await provider.disconnect(nodeId).catch(() => undefined);
        await dev.powerOff();
        const fw = await dev.powerOn();
        return finish("power-loss", `${signal.message}; rebooted into ${dev.bootSlot ?? "nothing"} (${fw.ok ? "firmware up" : fw.error?.code})`, { code: "POWER_LOSS" });
    }

    // reboot into the new slot
    const target = dev.events.slice(events0).find(e => e.kind === "boot-partition-set")?.softwareVersion;
    const tr = performance.now();
    await provider.disconnect(nodeId).catch(() => undefined);
    const fw = await dev.restart();
    const rebootMs = performance.now() - tr;
    if (!fw.ok || !dev.running) return finish("rolled-back", `the new firmware did not start: ${fw.error?.code ?? "boot failed"}`, { code: fw.error?.code ?? "ESP_FAIL", timings: { totalMs: 0, rebootMs } });
    const ts = performance.now();
    let ok = true;
    let why = "";
    try {
        provider.setDeviceAddress(nodeId, { ip: "127.0.0.1", port: dev.running.port });
        if (dev.running.commissionedFabrics < 1) throw new DiagnosticError("CHIP_ERROR_INCORRECT_STATE", "the fabric is gone after the update");
        const bi = await provider.readBasicInformation(nodeId);
        if (bi.softwareVersion !== target) throw new DiagnosticError("SoftwareVersionMismatch", `Basic Information reports SoftwareVersion ${bi.softwareVersion}, expected ${target}`);
        if (options.selfTest && !(await options.selfTest(dev, bi.softwareVersion))) throw new DiagnosticError("SelfTestFailed", "the firmware's self-test failed");
    } catch (e) {
        ok = false;
        why = e instanceof DiagnosticError ? `${e.code}: ${e.message}` : (e as Error).message;
    }
    const selfTestMs = performance.now() - ts;
    if (ok) {
        dev.ota!.markAppValidCancelRollback();
        return finish("updated", `SoftwareVersion ${before} → ${target} in ${dev.bootSlot}, self-test passed, marked VALID`, { timings: { totalMs: 0, rebootMs, selfTestMs } });
    }
    // esp_ota_mark_app_invalid_rollback_and_reboot
    try {
        dev.ota!.markAppInvalidRollback();
    } catch {
        /* the bootloader aborts a PENDING_VERIFY slot on the next boot anyway */
    }
    await provider.disconnect(nodeId).catch(() => undefined);
    await dev.restart();
    return finish("rolled-back", `self-test failed (${why}); rolled back to ${dev.bootSlot}`, { code: why.split(":")[0], timings: { totalMs: 0, rebootMs, selfTestMs } });
}

async function waitIdle(dev: VirtualOtaDevice, deadline: number): Promise<void> {
    const Idle = OtaSoftwareUpdateRequestor.UpdateState.Idle;
    while (performance.now() < deadline && dev.running && dev.liveState !== undefined && dev.liveState !== Idle) await new Promise(r => setTimeout(r, 5));
}
