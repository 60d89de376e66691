/**
 * A gate run: discover devices, slice the shard, start one strict commissioner, check devices `jobs` at a time, and
 * produce the result document (reports/result.ts). Devices share one process and one controller: a device costs
 * its boot + commissioning, not a controller start/stop.
 */
import { LogLevel } from "@matter/main";
import { Commissioner, quietMatterLogs } from "../commissioner/index.js";
import { loadTrustStore } from "../pki/trust-dir.js";
import type { TrustStore } from "../pki/index.js";
import { makeRunResult, type DeviceResult, type RunResult } from "../../reports/result.js";
import { discoverDevices, shardSlice, type DeviceFiles } from "./discover.js";
import { gateDevice, type GateDeviceOptions } from "./gate.js";

export interface GateOptions {
    paaStore: string;
    cdSigners?: string;
    /** A pre-loaded trust store (tests, demo) instead of paaStore/cdSigners directories. */
    trust?: TrustStore;
    allowTestKeys?: boolean;
    jobs?: number;
    shard?: { k: number; n: number };
    now?: () => Date;
    firmware?: GateDeviceOptions["firmware"];
    version?: string;
    /** Called after each device (progress output). */
    onDevice?: (result: DeviceResult, done: number, total: number) => void;
}

export async function runGate(inputs: readonly string[], options: GateOptions): Promise<RunResult> {
    const started = new Date();
    const t0 = performance.now();
    const all = discoverDevices(inputs);
    const devices = shardSlice(all, options.shard);
    const trust = options.trust ?? (await loadTrustStore({ paaStore: options.paaStore, cdSigners: options.cdSigners }));
    // Findings are in the result; matter.js's own log lines would only repeat them (MFGSIM_DEBUG=1 shows them).
    quietMatterLogs(process.env.MFGSIM_DEBUG ? LogLevel.DEBUG : LogLevel.FATAL);
    const commissioner = await Commissioner.start();
    const results: DeviceResult[] = new Array(devices.length);
    let next = 0;
    let done = 0;
    const worker = async () => {
        for (let i = next++; i < devices.length; i = next++) {
            results[i] = await gateDevice(devices[i] as DeviceFiles, { commissioner, trust, allowTestKeys: options.allowTestKeys, now: options.now, firmware: options.firmware });
            options.onDevice?.(results[i]!, ++done, devices.length);
        }
    };
    try {
        await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs ?? 2, devices.length)) }, worker));
    } finally {
        await commissioner.close();
    }
    return makeRunResult({
        version: options.version ?? "0.1.0",
        startedAt: started.toISOString(),
        durationMs: Math.round(performance.now() - t0),
        shard: options.shard ? `${options.shard.k}/${options.shard.n}` : null,
        devices: results,
    });
}
