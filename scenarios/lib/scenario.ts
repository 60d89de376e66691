/**
 * `scenario(title, body)`: a device's story as a test. The body gets a production line (`line`), `expect`, and
 * the seed; everything it does is recorded as checks (steps and assertions) of one entry of the gate/run
 * result document, so a scenario reads like a gate report of the failure it reproduces.
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import type { CheckResult } from "../../reports/result.js";
import { makeExpect, ScenarioAssertionError, type Expect } from "./expect.js";
import { ProductionLine, type LineResources } from "./line.js";

export interface ScenarioContext {
    /** Devices, the PKI, the clock. */
    line: ProductionLine;
    expect: Expect;
    /** The run's seed (every device and key is derived from it). */
    seed: string;
    /** Adds a line to the scenario's report. */
    note(text: string): void;
}

export interface ScenarioOptions {
    /** Public issue(s) the scenario reproduces, e.g. "esp-matter#808". */
    issue?: string | readonly string[];
    /** Not runnable yet: the reason (reported as a skipped check). */
    pending?: string;
    /** Default 60 s. */
    timeoutMs?: number;
}

export type ScenarioBody = (context: ScenarioContext) => Promise<void> | void;

export interface Scenario {
    readonly kind: "mfgsim-scenario";
    readonly title: string;
    readonly options: ScenarioOptions;
    readonly body: ScenarioBody;
}

/** Declares a scenario: `export default scenario("esp-matter#808: …", async ({ line, expect }) => { … })`. */
export function scenario(title: string, body: ScenarioBody): Scenario;
export function scenario(title: string, options: ScenarioOptions, body: ScenarioBody): Scenario;
export function scenario(title: string, a: ScenarioOptions | ScenarioBody, b?: ScenarioBody): Scenario {
    const body = typeof a === "function" ? a : b;
    const options = typeof a === "function" ? {} : a;
    if (typeof title !== "string" || title.trim() === "") throw new DiagnosticError("INVALID_SCENARIO", "a scenario needs a title");
    if (typeof body !== "function") throw new DiagnosticError("INVALID_SCENARIO", `scenario "${title}" has no body`);
    return Object.freeze({ kind: "mfgsim-scenario" as const, title, options: { ...options }, body });
}

/** A scenario that cannot run yet (e.g. it needs OTA): reported as skipped with the reason. */
scenario.pending = (title: string, reason: string, options: Omit<ScenarioOptions, "pending"> = {}): Scenario =>
    scenario(title, { ...options, pending: reason }, () => undefined);

export function isScenario(v: unknown): v is Scenario {
    return typeof v === "object" && v !== null && (v as Scenario).kind === "mfgsim-scenario" && typeof (v as Scenario).body === "function";
}

export interface ScenarioRun {
    title: string;
    status: "pass" | "fail" | "pending";
    checks: CheckResult[];
    /** The first failure, one line. */
    failure?: string;
    durationMs: number;
}

function detailOf(e: unknown): string {
    if (e instanceof DiagnosticError) return e.message.startsWith(e.code) ? e.message : `${e.code}: ${e.message}`;
    return `CHIP_ERROR_INTERNAL: ${e instanceof Error ? e.message : String(e)}`;
}

/** Runs one scenario; never throws for a failing scenario (that is its result). */
export async function runScenario(s: Scenario, o: { resources: LineResources; seed: string; timeoutMs?: number }): Promise<ScenarioRun> {
    const t0 = performance.now();
    const checks: CheckResult[] = [];
    let last = performance.now();
    const push = (name: string, status: CheckResult["status"], detail: string, ms?: number) => {
        const now = performance.now();
        checks.push({ name, status, detail, ms: Math.round(ms ?? now - last) });
        last = now;
    };
    if (s.options.pending !== undefined) {
        push("pending", "skip", s.options.pending, 0);
        return { title: s.title, status: "pending", checks, durationMs: 0 };
    }
    const line = new ProductionLine(o.resources, o.seed, (name, detail, ms) => push(name, "pass", detail, ms));
    const expect = makeExpect({ assertion: (name, ok, detail) => push(name, ok ? "pass" : "fail", detail, 0) });
    let failure: string | undefined;
    const timeoutMs = s.options.timeoutMs ?? o.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    try {
        await Promise.race([
            Promise.resolve(s.body({ line, expect, seed: o.seed, note: text => push("note", "pass", text, 0) })),
            new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(new DiagnosticError("CHIP_ERROR_TIMEOUT", `scenario did not finish in ${timeoutMs} ms`)), timeoutMs);
            }),
        ]);
    } catch (e) {
        if (e instanceof ScenarioAssertionError) failure = e.message;
        else {
            failure = detailOf(e);
            push("error", "fail", failure);
        }
    } finally {
        clearTimeout(timer);
        await line.close();
    }
    return { title: s.title, status: failure ? "fail" : "pass", checks, ...(failure ? { failure } : {}), durationMs: Math.round(performance.now() - t0) };
}
