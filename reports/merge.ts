/**
 * `report merge`: shard results (gate --shard k/n --json F on several CI machines) → one result. A device id
 * that appears in two shards means the shards overlapped (a misconfigured matrix): that is an error, not a
 * silent double count.
 */
import { DiagnosticError } from "../emulator/esp_common/err.js";
import { makeRunResult, type DeviceResult, type RunResult } from "./result.js";

export interface NamedResult {
    file: string;
    result: RunResult;
}

export function mergeResults(inputs: readonly NamedResult[]): RunResult {
    if (inputs.length === 0) throw new DiagnosticError("INVALID_ARGUMENT", "no result files to merge");
    const seen = new Map<string, string>();
    const devices: DeviceResult[] = [];
    for (const { file, result } of inputs) {
        for (const device of result.devices) {
            const other = seen.get(device.id);
            if (other !== undefined) {
                throw new DiagnosticError(
                    "DUPLICATE_DEVICE",
                    `device ${device.id} is in ${other} and ${file}: do the shards overlap?`,
                    { file, field: "devices" },
                );
            }
            seen.set(device.id, file);
            devices.push(device);
        }
    }
    const starts = inputs.map(i => Date.parse(i.result.startedAt)).filter(t => !Number.isNaN(t));
    const ends = inputs.map(i => Date.parse(i.result.startedAt) + i.result.durationMs).filter(t => !Number.isNaN(t));
    const startedAt = starts.length ? new Date(Math.min(...starts)).toISOString() : inputs[0]!.result.startedAt;
    const durationMs = starts.length ? Math.max(...ends) - Math.min(...starts) : Math.max(...inputs.map(i => i.result.durationMs));
    return makeRunResult({
        version: inputs[0]!.result.version,
        startedAt,
        durationMs,
        shard: null,
        devices,
    });
}
