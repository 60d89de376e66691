/**
 * A gate run: discover devices, slice the shard, check them, and produce the result document (reports/result.ts).
 *
 * A device costs its boot + commissioning, not a controller start/stop: each thread starts one strict commissioner
 * and checks its devices through it. matter.js runs a node's work on one JavaScript thread, so `--jobs N` spreads
 * devices over min(N, cores) worker threads (each with its own matter.js, commissioner and trust store) and keeps
 * N devices in flight in total.
 */
import { LogLevel } from "@matter/main";
import { cpus } from "node:os";
import { Worker } from "node:worker_threads";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { Commissioner, quietMatterLogs } from "../commissioner/index.js";
import { loadTrustStore } from "../pki/trust-dir.js";
import type { TrustStore } from "../pki/index.js";
import { makeRunResult, type DeviceResult, type RunResult } from "../../reports/result.js";
import { deviceInDir, discoverDevices, shardSlice, type DeviceFiles } from "./discover.js";
import { gateDevice, type GateDeviceOptions } from "./gate.js";
import type { GateWorkerData, GateWorkerMessage } from "./worker.js";

export interface GateOptions {
    paaStore: string;
    cdSigners?: string;
    /** A pre-loaded trust store instead of paaStore/cdSigners directories (runs in this thread only). */
    trust?: TrustStore;
    allowTestKeys?: boolean;
    /** Devices in flight (default 2); spread over min(jobs, cores) worker threads. */
    jobs?: number;
    shard?: { k: number; n: number };
    /** Clock for certificate validity (runs in this thread only). */
    now?: () => Date;
    firmware?: GateDeviceOptions["firmware"];
    chip?: GateDeviceOptions["chip"];
    /** gate --ota <image.ota>: the `ota` check with this file. */
    ota?: string;
    /** gate --partitions: partition table CSV text. */
    partitionsCsv?: string;
    /** gate --firmware: the app image bytes. */
    appImage?: Uint8Array;
    version?: string;
    /** Called after each device (progress output). */
    onDevice?: (result: DeviceResult, done: number, total: number) => void;
    /**
     * Stops the run early (Ctrl-C, a CI job's SIGTERM): no device is started after it fires, those in progress are
     * finished, and every device not checked gets a failing `interrupted` check, so a partial run never reads as a pass.
     */
    signal?: AbortSignal;
}

/** What a gate thread needs: plain data only, so it can cross into a worker. */
export interface ThreadGateOptions {
    paaStore: string;
    cdSigners?: string;
    allowTestKeys?: boolean;
    firmware?: GateDeviceOptions["firmware"];
    chip?: GateDeviceOptions["chip"];
    ota?: string;
    partitionsCsv?: string;
    appImage?: Uint8Array;
    /** Devices in flight in this thread. */
    concurrency: number;
}

export async function runGate(inputs: readonly string[], options: GateOptions): Promise<RunResult> {
    const started = new Date();
    const t0 = performance.now();
    const devices = shardSlice(discoverDevices(inputs), options.shard);
    const jobs = Math.max(1, options.jobs ?? 2);
    const threads = Math.min(jobs, devices.length, cpus().length);
    const inThreadOnly = options.trust !== undefined || options.now !== undefined;
    const results = new Map<string, DeviceResult>();
    let done = 0;
    const record = (r: DeviceResult) => {
        results.set(r.dir, r);
        options.onDevice?.(r, ++done, devices.length);
    };
    if (threads <= 1 || inThreadOnly) {
        const trust = options.trust ?? (await loadTrustStore({ paaStore: options.paaStore, cdSigners: options.cdSigners }));
        await gateInThread(devices, { ...options, concurrency: jobs }, trust, record, options.signal);
    } else {
        await loadTrustStore({ paaStore: options.paaStore, cdSigners: options.cdSigners }); // unreadable store: one error, before any thread starts
        const slices = Array.from({ length: threads }, (_, k) => shardSlice(devices, { k: k + 1, n: threads }));
        const perThread = Math.ceil(jobs / threads);
        await Promise.all(slices.map(slice => gateInWorker(slice.map(d => d.dir), { ...threadOptions(options), concurrency: perThread }, record, options.signal)));
    }
    const interrupted = options.signal?.aborted === true && results.size < devices.length;
    return makeRunResult({
        version: options.version ?? "0.1.0",
        startedAt: started.toISOString(),
        durationMs: Math.round(performance.now() - t0),
        shard: options.shard ? `${options.shard.k}/${options.shard.n}` : null,
        devices: devices.map(d => results.get(d.dir) ?? notChecked(d)),
        ...(interrupted ? { interrupted: true as const } : {}),
    });
}

/** A device the run was stopped before: a failing `interrupted` check (never a silent pass in CI). */
function notChecked(d: DeviceFiles): DeviceResult {
    return {
        id: d.id,
        dir: d.dir,
        status: "fail",
        checks: [{ name: "interrupted", status: "fail", detail: "not checked: the run was stopped (Ctrl-C, SIGTERM or its AbortSignal) before this device", ms: 0 }],
        vendorId: null,
        productId: null,
        serialNumber: null,
        softwareVersion: null,
        softwareVersionAfterOta: null,
    };
}

function threadOptions(o: GateOptions): Omit<ThreadGateOptions, "concurrency"> {
    return { paaStore: o.paaStore, cdSigners: o.cdSigners, allowTestKeys: o.allowTestKeys, firmware: o.firmware, chip: o.chip, ...pick(o) };
}

/** The optional per-device settings that travel to worker threads as they are. */
function pick(o: Pick<GateOptions, "ota" | "partitionsCsv" | "appImage">) {
    return {
        ...(o.ota !== undefined ? { ota: o.ota } : {}),
        ...(o.partitionsCsv !== undefined ? { partitionsCsv: o.partitionsCsv } : {}),
        ...(o.appImage !== undefined ? { appImage: o.appImage } : {}),
    };
}

/** Checks devices in this thread, `concurrency` at a time, through one commissioner. */
async function gateInThread(
    devices: readonly DeviceFiles[],
    options: ThreadGateOptions & { now?: () => Date },
    trust: TrustStore,
    onDevice: (r: DeviceResult) => void,
    signal?: AbortSignal,
): Promise<void> {
    // Findings are in the result; matter.js's own log lines would only repeat them (MFGSIM_DEBUG=1 shows them).
    quietMatterLogs(process.env.MFGSIM_DEBUG ? LogLevel.DEBUG : LogLevel.FATAL);
    const commissioner = await Commissioner.start();
    let next = 0;
    const lane = async () => {
        for (let i = next++; i < devices.length && !signal?.aborted; i = next++) {
            onDevice(await gateDevice(devices[i]!, { commissioner, trust, allowTestKeys: options.allowTestKeys, now: options.now, firmware: options.firmware, chip: options.chip, ...pick(options) }));
        }
    };
    try {
        await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, devices.length)) }, lane));
    } finally {
        await commissioner.close();
    }
}

/** The body of a gate worker thread (worker.ts). */
export async function gateDevicesInThread(dirs: readonly string[], options: ThreadGateOptions, onDevice: (r: DeviceResult) => void, signal?: AbortSignal): Promise<void> {
    const devices = dirs.map(dir => deviceInDir(dir) ?? fail(dir));
    const trust = await loadTrustStore({ paaStore: options.paaStore, cdSigners: options.cdSigners });
    await gateInThread(devices, options, trust, onDevice, signal);
}

function fail(dir: string): never {
    throw new DiagnosticError("ESP_ERR_NVS_PART_NOT_FOUND", "no device partition here", { file: dir });
}

function gateInWorker(dirs: string[], options: ThreadGateOptions, onDevice: (r: DeviceResult) => void, signal?: AbortSignal): Promise<void> {
    const self = new URL("./worker" + (import.meta.url.endsWith(".ts") ? ".ts" : ".js"), import.meta.url);
    const fromSources = self.pathname.endsWith(".ts");
    const data: GateWorkerData = { dirs, options, ...(fromSources ? { entry: self.href } : {}) };
    // From the sources the worker registers tsx itself (tsx-worker.mjs); execArgv: [] keeps it from inheriting --import tsx.
    const worker = new Worker(fromSources ? new URL("./tsx-worker.mjs", import.meta.url) : self, { workerData: data, execArgv: [] });
    // the worker finishes its devices in progress and starts no more (see GateOptions.signal)
    const stop = (): void => worker.postMessage({ type: "stop" });
    if (signal?.aborted) stop();
    else signal?.addEventListener("abort", stop, { once: true });
    worker.once("exit", () => signal?.removeEventListener("abort", stop));
    return new Promise((resolve, reject) => {
        let finished = false;
        worker.on("message", (m: GateWorkerMessage) => {
            if (m.type === "device") onDevice(m.result);
            else if (m.type === "done") finished = true;
            else {
                finished = true;
                reject(m.error.diagnostic ? new DiagnosticError(m.error.code, m.error.message, m.error.context, m.error.exitCode) : new Error(m.error.message));
            }
        });
        worker.on("error", reject);
        worker.on("exit", code => (finished ? resolve() : reject(new Error(`gate worker exited with code ${code} before finishing`))));
    });
}
