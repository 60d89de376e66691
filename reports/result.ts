/**
 * The gate / run result document (cli.md "Gate and run results"): what `gate --json F` and `run --json F` write,
 * and what `report merge` reads back. `parseRunResult` validates a document read from disk field by field so a
 * truncated or hand-edited shard file fails with one line naming the file and the field.
 */
import { DiagnosticError } from "../emulator/esp_common/err.js";

export type CheckStatus = "pass" | "fail" | "skip";

export interface CheckResult {
    /** Stable identifier: nvs.mount, factory.read, boot, pase, attestation, cd, noc, case, basic-information, ota, … */
    name: string;
    status: CheckStatus;
    /** For a failure: carries the ESP-IDF or CHIP error name (ESP_ERR_NVS_NOT_FOUND, PaaNotFound, …). */
    detail: string;
    ms: number;
}

export interface DeviceResult {
    id: string;
    dir: string;
    status: "pass" | "fail";
    checks: CheckResult[];
    vendorId: number | null;
    productId: number | null;
    serialNumber: string | null;
    softwareVersion: number | null;
    softwareVersionAfterOta: number | null;
    /** Extension (not in cli.md): the label's QR payload, for the HTML report. */
    qrCode?: string | null;
    /** Extension: the device's console (bootloader + firmware), ESP-IDF style. */
    bootLog?: string[];
}

export interface RunResult {
    tool: "mfgsim";
    version: string;
    startedAt: string;
    durationMs: number;
    shard: string | null;
    summary: { total: number; passed: number; failed: number };
    devices: DeviceResult[];
    /** Extension: the run was stopped early; the devices not checked fail their `interrupted` check. */
    interrupted?: true;
}

/** A device passes when none of its checks failed. */
export function deviceStatus(checks: readonly CheckResult[]): "pass" | "fail" {
    return checks.some(c => c.status === "fail") ? "fail" : "pass";
}

export function summarize(devices: readonly DeviceResult[]): RunResult["summary"] {
    const passed = devices.filter(d => d.status === "pass").length;
    return { total: devices.length, passed, failed: devices.length - passed };
}

/** Builds a result document; the summary is derived from the devices, never passed in. */
export function makeRunResult(init: Omit<RunResult, "tool" | "summary">): RunResult {
    return { tool: "mfgsim", ...init, summary: summarize(init.devices) };
}

/** Validates an untrusted JSON value as a RunResult; errors name the file and the JSON path. */
export function parseRunResult(value: unknown, file?: string): RunResult {
    const fail = (field: string, message: string): never => {
        throw new DiagnosticError("INVALID_RESULT_FILE", message, { file, field });
    };
    const obj = (v: unknown, path: string): Record<string, unknown> =>
        typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(path, "expected an object");
    const str = (v: unknown, path: string): string => (typeof v === "string" ? v : fail(path, "expected a string"));
    const num = (v: unknown, path: string): number =>
        typeof v === "number" && Number.isFinite(v) ? v : fail(path, "expected a number");
    const numOrNull = (v: unknown, path: string): number | null => (v === null || v === undefined ? null : num(v, path));
    const strOrNull = (v: unknown, path: string): string | null => (v === null || v === undefined ? null : str(v, path));
    const oneOf = <T extends string>(v: unknown, allowed: readonly T[], path: string): T =>
        allowed.includes(v as T) ? (v as T) : fail(path, `expected one of ${allowed.join(", ")}`);

    const root = obj(value, "$");
    if (root.tool !== "mfgsim") fail("tool", `expected "mfgsim", found ${JSON.stringify(root.tool)}`);
    if (!Array.isArray(root.devices)) fail("devices", "expected an array");
    const devices = (root.devices as unknown[]).map((d, i): DeviceResult => {
        const p = `devices[${i}]`;
        const dev = obj(d, p);
        if (!Array.isArray(dev.checks)) fail(`${p}.checks`, "expected an array");
        const checks = (dev.checks as unknown[]).map((c, j): CheckResult => {
            const q = `${p}.checks[${j}]`;
            const check = obj(c, q);
            return {
                name: str(check.name, `${q}.name`),
                status: oneOf(check.status, ["pass", "fail", "skip"] as const, `${q}.status`),
                detail: typeof check.detail === "string" ? check.detail : "",
                ms: typeof check.ms === "number" ? check.ms : 0,
            };
        });
        return {
            id: str(dev.id, `${p}.id`),
            dir: typeof dev.dir === "string" ? dev.dir : "",
            status: oneOf(dev.status, ["pass", "fail"] as const, `${p}.status`),
            checks,
            vendorId: numOrNull(dev.vendorId, `${p}.vendorId`),
            productId: numOrNull(dev.productId, `${p}.productId`),
            serialNumber: strOrNull(dev.serialNumber, `${p}.serialNumber`),
            softwareVersion: numOrNull(dev.softwareVersion, `${p}.softwareVersion`),
            softwareVersionAfterOta: numOrNull(dev.softwareVersionAfterOta, `${p}.softwareVersionAfterOta`),
            ...(dev.qrCode !== undefined ? { qrCode: strOrNull(dev.qrCode, `${p}.qrCode`) } : {}),
            ...(Array.isArray(dev.bootLog) ? { bootLog: (dev.bootLog as unknown[]).map((l, j) => str(l, `${p}.bootLog[${j}]`)) } : {}),
        };
    });
    return {
        tool: "mfgsim",
        version: typeof root.version === "string" ? root.version : "",
        startedAt: str(root.startedAt, "startedAt"),
        durationMs: num(root.durationMs, "durationMs"),
        shard: strOrNull(root.shard, "shard"),
        summary: summarize(devices),
        devices,
    };
}
