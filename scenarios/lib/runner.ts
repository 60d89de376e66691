/**
 * `mfgsim run`: finds scenario files, loads them, runs each scenario with one shared production line
 * (batches and the commissioner are reused) and returns the gate/run result document: one "device" entry per
 * scenario, its steps and assertions as checks.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { extname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { makeRunResult, type DeviceResult, type RunResult } from "../../reports/result.js";
import { LineResources } from "./line.js";
import { isScenario, runScenario, type Scenario, type ScenarioRun } from "./scenario.js";

const SOURCE_EXT = new Set([".ts", ".mts", ".js", ".mjs"]);

/** A fresh seed for a run without --seed (printed so the run can be replayed). */
export function newSeed(): string {
    return randomBytes(4).toString("hex");
}

/** The files named on the command line; directories are walked (skipping lib/, node_modules/ and *.test.*). */
export function findScenarioFiles(paths: readonly string[], cwd = process.cwd()): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
        for (const name of readdirSync(dir).sort()) {
            if (name.startsWith(".") || name === "node_modules" || name === "lib") continue;
            const p = join(dir, name);
            if (statSync(p).isDirectory()) walk(p);
            else if (SOURCE_EXT.has(extname(name)) && !/\.(test|d)\.[mc]?[tj]s$/.test(name)) out.push(p);
        }
    };
    for (const p of paths) {
        const abs = resolve(cwd, p);
        let st;
        try {
            st = statSync(abs);
        } catch {
            throw new DiagnosticError("ENOENT", "no such scenario file or directory", { file: p });
        }
        if (st.isDirectory()) walk(abs);
        else out.push(abs);
    }
    return [...new Set(out)];
}

let tsxRegistered = false;

/** Loads the scenarios a file exports (default export: one scenario or an array; named exports too). */
export async function loadScenarios(file: string): Promise<Scenario[]> {
    if (/\.m?ts$/.test(file) && !import.meta.url.endsWith(".ts") && !tsxRegistered) {
        // the built CLI runs TypeScript scenario files through tsx's loader
        const { register } = await import("tsx/esm/api");
        register();
        tsxRegistered = true;
    }
    let mod: Record<string, unknown>;
    try {
        mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (e) {
        if (e instanceof DiagnosticError) throw e.withContext({ file });
        throw new DiagnosticError("INVALID_SCENARIO", `cannot load: ${(e as Error).message?.split("\n")[0]}`, { file });
    }
    const found: Scenario[] = [];
    const add = (v: unknown) => {
        if (isScenario(v) && !found.includes(v)) found.push(v);
        else if (Array.isArray(v)) v.forEach(add);
    };
    add(mod.default);
    for (const [k, v] of Object.entries(mod)) if (k !== "default") add(v);
    return found;
}

export interface RunOptions {
    seed?: string;
    /** Only scenarios whose title matches. */
    grep?: string | RegExp;
    cwd?: string;
    /** Called after each scenario (progress, replay hints). */
    onScenario?: (run: ScenarioRun & { file: string }) => void;
    resources?: LineResources;
    version?: string;
}

export interface ScenarioRunResult {
    result: RunResult;
    seed: string;
    runs: Array<ScenarioRun & { file: string }>;
}

/** The command that replays one scenario file with the same seed. */
export function replayCommand(file: string, seed: string, cwd = process.cwd()): string {
    const rel = relative(cwd, file) || file;
    const shown = rel.startsWith("..") ? file : rel;
    return `npx mfgsim run ${/\s/.test(shown) ? JSON.stringify(shown) : shown} --seed ${seed}`;
}

export async function runScenarioFiles(paths: readonly string[], o: RunOptions = {}): Promise<ScenarioRunResult> {
    const cwd = o.cwd ?? process.cwd();
    const seed = o.seed ?? newSeed();
    const files = findScenarioFiles(paths, cwd);
    const grep = o.grep === undefined ? undefined : typeof o.grep === "string" ? new RegExp(o.grep, "i") : o.grep;
    const loaded: Array<{ file: string; scenario: Scenario }> = [];
    for (const file of files) {
        const list = await loadScenarios(file);
        if (list.length === 0 && paths.some(p => resolve(cwd, p) === file)) {
            throw new DiagnosticError("INVALID_SCENARIO", "the file exports no scenario (export default scenario(…))", { file });
        }
        for (const s of list) if (!grep || grep.test(s.title)) loaded.push({ file, scenario: s });
    }
    const startedAt = new Date();
    const resources = o.resources ?? new LineResources();
    const runs: ScenarioRunResult["runs"] = [];
    try {
        for (const { file, scenario } of loaded) {
            const run = { ...(await runScenario(scenario, { resources, seed })), file };
            runs.push(run);
            o.onScenario?.(run);
        }
    } finally {
        if (!o.resources) await resources.close();
    }
    const devices: DeviceResult[] = runs.map(r => ({
        id: r.title,
        dir: relative(cwd, r.file) || r.file,
        status: r.status === "fail" ? "fail" : "pass",
        checks: r.checks,
        vendorId: null,
        productId: null,
        serialNumber: null,
        softwareVersion: null,
        softwareVersionAfterOta: null,
    }));
    const result = makeRunResult({ version: o.version ?? "0.1.0", startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), shard: null, devices });
    return { result: { ...result, seed, replay: files.length === 1 ? replayCommand(files[0]!, seed, cwd) : `npx mfgsim run ${paths.join(" ")} --seed ${seed}` } as RunResult, seed, runs };
}

/**
 * `mfgsim run --profile certification <device dirs>`: the TC-DA-1.x checklist for each device of an
 * mfg_tool/mfgsim output (one result entry per device, one check per checklist item).
 */
export async function runCertificationProfile(dirs: readonly string[], o: { trust: import("../../harness/pki/index.js").TrustStore; allowTestKeys?: boolean; cwd?: string; version?: string; onDevice?: (d: DeviceResult) => void }): Promise<RunResult> {
    const { discoverDevices } = await import("../../harness/gate/discover.js");
    const { ProductionLine } = await import("./line.js");
    const cwd = o.cwd ?? process.cwd();
    const devices = discoverDevices(dirs.map(d => resolve(cwd, d)));
    const startedAt = new Date();
    const resources = new LineResources();
    const out: DeviceResult[] = [];
    try {
        for (const files of devices) {
            const line = new ProductionLine(resources, "certification", () => undefined);
            try {
                const dev = await line.fromMfgTool(files.dir);
                const report = await dev.certify({ trust: o.trust, allowTestKeys: o.allowTestKeys ?? false });
                const vid = dev.factory.get("vendor-id");
                const pid = dev.factory.get("product-id");
                const serial = dev.factory.get("serial-num");
                const d: DeviceResult = {
                    id: files.id, dir: relative(cwd, files.dir) || files.dir, status: report.ok ? "pass" : "fail",
                    checks: report.items.map(i => ({ name: i.id, status: i.status, detail: i.detail || i.title, ms: 0 })),
                    vendorId: typeof vid === "number" ? vid & 0xffff : null, productId: typeof pid === "number" ? pid & 0xffff : null,
                    serialNumber: typeof serial === "string" ? serial : null, softwareVersion: 1, softwareVersionAfterOta: null,
                };
                out.push(d);
                o.onDevice?.(d);
            } finally {
                await line.close();
            }
        }
    } finally {
        await resources.close();
    }
    return makeRunResult({ version: o.version ?? "0.1.0", startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), shard: null, devices: out });
}
