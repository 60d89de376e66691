/**
 * Assertions of a scenario. Everything a step returns is an `Outcome` (it passed, or it failed with an error
 * name users grep for: ESP_ERR_NVS_NOT_FOUND, PaaNotFound, PaseKeyConfirmationFailed, …), so one small set of
 * matchers covers boots, reads, mounts, commissioning and certification:
 *
 *   expect(boot).toFailWith("ESP_ERR_NVS_NOT_FOUND");
 *   expect(boot.log).toContain("reading discriminator from fctry");
 *   expect(result).toPass();
 *
 * Every assertion is recorded as a check of the scenario (pass or fail); the first failing one stops it.
 */
import { isDeepStrictEqual, inspect } from "node:util";

/** The result of a step: boot, read, mount, commission, certify. */
export interface Outcome {
    readonly ok: boolean;
    /** The first error (its name, e.g. "ESP_ERR_NVS_NOT_FOUND" or "CertificationDeclarationInvalidVendorId", and message). */
    readonly error?: { readonly code: string; readonly message: string };
    /** Every name this failure is known by (error code, AttestationVerificationResult name and number, …). */
    readonly errorNames: readonly string[];
    /** Console or report lines `toContain` searches. */
    readonly log: readonly string[];
    /** One line for reports. */
    describe(): string;
}

export function isOutcome(v: unknown): v is Outcome {
    return typeof v === "object" && v !== null && typeof (v as Outcome).ok === "boolean" && Array.isArray((v as Outcome).errorNames) && typeof (v as Outcome).describe === "function";
}

/** An assertion that did not hold: ends the scenario, recorded as a failed check. */
export class ScenarioAssertionError extends Error {
    override name = "ScenarioAssertionError";
}

/** Where assertions are recorded (the scenario's check list). */
export interface AssertionRecorder {
    assertion(name: string, ok: boolean, detail: string): void;
}

const show = (v: unknown): string => (isOutcome(v) ? v.describe() : typeof v === "string" ? JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v) : inspect(v, { depth: 2, breakLength: Infinity, maxArrayLength: 8, maxStringLength: 200 }));

function textOf(v: unknown): string[] {
    if (isOutcome(v)) return [...v.log, ...(v.error ? [`${v.error.code}: ${v.error.message}`] : [])];
    if (typeof v === "string") return [v];
    if (Array.isArray(v)) return v.map(x => (typeof x === "string" ? x : show(x)));
    return [show(v)];
}

export class Expectation<T> {
    constructor(
        private readonly actual: T,
        private readonly recorder: AssertionRecorder,
        private readonly negated = false,
        private readonly label?: string,
    ) {}

    /** The negated form: `expect(boot.log).not.toContain("Commissioning window open")`. */
    get not(): Expectation<T> {
        return new Expectation(this.actual, this.recorder, !this.negated, this.label);
    }

    /** Names the subject in reports: `expect(boot, "boot with NVS encryption")`. */
    private subject(): string {
        const a = this.actual;
        if (this.label) return this.label;
        if (isOutcome(a)) return a.describe().split(":")[0]!;
        if (Array.isArray(a)) return `${a.length} lines`;
        if (typeof a === "string") return JSON.stringify(a.length > 40 ? `${a.slice(0, 40)}…` : a);
        return show(a).slice(0, 60);
    }

    private check(what: string, holds: boolean, why: string): void {
        const ok = this.negated ? !holds : holds;
        const name = `expect ${this.subject()} ${this.negated ? "not " : ""}${what}`;
        this.recorder.assertion(name, ok, ok ? why : `expected ${this.negated ? "not " : ""}${what}; ${why}`);
        if (!ok) throw new ScenarioAssertionError(`${name}: ${why}`);
    }

    /** The step failed, and `name` is among its error names (ESP-IDF / CHIP / AttestationVerificationResult). */
    toFailWith(name: string | number): void {
        const o = this.actual;
        if (!isOutcome(o)) return this.check(`toFailWith ${name}`, false, `${show(o)} is not a step outcome`);
        const n = String(name);
        const holds = !o.ok && o.errorNames.includes(n);
        const why = o.ok ? `it passed: ${o.describe()}` : `it failed with ${o.errorNames.join(" / ")}: ${o.error?.message ?? ""}`;
        this.check(`toFailWith ${n}`, holds, why);
    }

    /** The step succeeded. */
    toPass(): void {
        const o = this.actual;
        if (!isOutcome(o)) return this.check("toPass", false, `${show(o)} is not a step outcome`);
        this.check("toPass", o.ok, o.ok ? o.describe() : `failed with ${o.errorNames.join(" / ")}: ${o.error?.message ?? ""}`);
    }

    /** A log line / string / array element contains `text` (or matches the RegExp). */
    toContain(text: string | RegExp): void {
        const lines = textOf(this.actual);
        const hit = lines.find(l => (typeof text === "string" ? l.includes(text) : text.test(l)));
        const shown = typeof text === "string" ? JSON.stringify(text) : String(text);
        this.check(`toContain ${shown}`, hit !== undefined, hit !== undefined ? `found in: ${hit.trim().slice(0, 200)}` : `not in ${lines.length} line(s)${lines.length ? `; last: ${lines[lines.length - 1]!.slice(0, 160)}` : ""}`);
    }

    /** Deep equality. */
    toEqual(expected: unknown): void {
        this.check(`toEqual ${show(expected)}`, isDeepStrictEqual(this.actual, expected), `actual ${show(this.actual)}`);
    }

    /** A string matches. */
    toMatch(re: RegExp): void {
        const s = typeof this.actual === "string" ? this.actual : show(this.actual);
        this.check(`toMatch ${re}`, re.test(s), `actual ${show(s)}`);
    }

    /** A value is truthy. */
    toBeTruthy(): void {
        this.check("toBeTruthy", Boolean(this.actual), `actual ${show(this.actual)}`);
    }
}

export type Expect = <T>(actual: T, label?: string) => Expectation<T>;

export function makeExpect(recorder: AssertionRecorder): Expect {
    return (actual, label) => new Expectation(actual, recorder, false, label);
}
