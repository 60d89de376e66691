/** Outcomes of scenario steps: one shape (see expect.ts `Outcome`) with step-specific extras. */
import { ATTESTATION_RESULTS } from "../../harness/pki/index.js";
import type { Outcome } from "./expect.js";

/** The names an error is known by: its code, and for attestation results also the number (e.g. "604"). */
export function namesOf(code: string | undefined): string[] {
    if (!code) return [];
    const names = [code];
    const n = (ATTESTATION_RESULTS as Record<string, number>)[code];
    if (n !== undefined) names.push(String(n));
    return names;
}

export class StepOutcome implements Outcome {
    readonly errorNames: readonly string[];
    constructor(
        readonly step: string,
        readonly ok: boolean,
        readonly log: readonly string[] = [],
        readonly error?: { code: string; message: string },
        extraNames: readonly string[] = [],
        private readonly summary?: string,
    ) {
        this.errorNames = [...new Set([...namesOf(error?.code), ...extraNames])];
    }

    describe(): string {
        if (this.ok) return `${this.step}: ok${this.summary ? ` (${this.summary})` : ""}`;
        return `${this.step}: ${this.error?.code ?? "failed"}${this.error?.message ? ` — ${this.error.message}` : ""}`;
    }
}

/** A chip-factory key read the way ESP32FactoryDataProvider reads it. */
export class ReadOutcome extends StepOutcome {
    constructor(
        readonly key: string,
        ok: boolean,
        readonly value: unknown,
        error?: { code: string; message: string },
    ) {
        super(`read ${key}`, ok, [], error, [], ok ? describeValue(value) : undefined);
    }
}

function describeValue(v: unknown): string {
    if (v instanceof Uint8Array) return `${v.length} bytes`;
    if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    return String(v);
}

/** A step that was not reached or not run: fails with `name`. */
export function failed(step: string, code: string, message: string, log: readonly string[] = []): StepOutcome {
    return new StepOutcome(step, false, log, { code, message });
}
