import type { Command } from "commander";
import { action } from "../action.js";

interface RunCliOptions {
    junit?: string;
    html?: string;
    json?: boolean | string;
    seed?: string;
    grep?: string;
    profile?: string;
    paaStore?: string;
    cdSigners?: string;
    allowTestKeys?: boolean;
}

type Device = { id: string; dir: string; status: string; checks: Array<{ name: string; status: string; detail: string }> };

function firstFailure(d: Device): string {
    const f = d.checks.find(c => c.status === "fail");
    return f ? `\n      ${f.name}: ${f.detail}` : "";
}

/** `mfgsim run`: scenario scripts (or the certification profile over device directories) → the gate/run result document. */
export function register(program: Command): void {
    program
        .command("run")
        .description("run scenario scripts (files or directories of them); each scenario becomes one entry of the result document; exit 1 if any fails")
        .argument("<paths...>", "scenario files (.ts/.js exporting scenario(…)) or directories; with --profile certification: device directories")
        .option("--junit <file>", "write a JUnit XML report")
        .option("--html <file>", "write an HTML report")
        .option("--json [file]", "write the result document to <file>; without a file, print it on stdout")
        .option("--seed <seed>", "seed of the run: batches, keys and passcodes derive from it (default: random, printed)")
        .option("--grep <pattern>", "only scenarios whose title matches (case-insensitive regular expression)")
        .option("--profile <name>", "certification: run the TC-DA-1.x checklist on device directories instead of scenarios")
        .option("--paa-store <dir>", "with --profile certification: trusted PAA certificates")
        .option("--cd-signers <dir>", "with --profile certification: extra CD signer certificates")
        .option("--allow-test-keys", "with --profile certification: accept CDs signed by test keys")
        .addHelpText(
            "after",
            "\nExamples:\n  mfgsim run scenarios/catalogue --junit reports/out/scenarios.xml\n  mfgsim run scenarios/catalogue/nvs-encryption-plaintext-image.ts --seed 1a2b3c4d\n" +
                "  mfgsim run --profile certification out/fff1_8000 --paa-store pki/paa-store --allow-test-keys\n" +
                "Every run prints its seed and the command that replays it.\n",
        )
        .action(
            action("run", async (paths: string[], opts: RunCliOptions) => {
                const { DiagnosticError } = await import("../../../emulator/esp_common/err.js");
                const { writeReports } = await import("../../../reports/index.js");
                const progress = opts.json !== true;
                const say = (s: string) => process.stderr.write(`${s}\n`);
                let result;
                let seedLine = "";
                if (opts.profile !== undefined) {
                    if (opts.profile !== "certification") throw new DiagnosticError("INVALID_ARGUMENT", `unknown profile '${opts.profile}' (one of: certification)`, { field: "--profile" });
                    if (!opts.paaStore) throw new DiagnosticError("INVALID_ARGUMENT", "--profile certification needs --paa-store <dir>", { field: "--paa-store" });
                    const { loadTrustStore } = await import("../../pki/trust-dir.js");
                    const { runCertificationProfile } = await import("../../../scenarios/lib/runner.js");
                    const trust = await loadTrustStore({ paaStore: opts.paaStore, ...(opts.cdSigners ? { cdSigners: opts.cdSigners } : {}) });
                    result = await runCertificationProfile(paths, {
                        trust, allowTestKeys: opts.allowTestKeys ?? false,
                        onDevice: progress ? d => say(`${d.status.toUpperCase()} ${d.id}${firstFailure(d)}`) : undefined,
                    });
                } else {
                    const { runScenarioFiles, newSeed, replayCommand, findScenarioFiles } = await import("../../../scenarios/lib/runner.js");
                    findScenarioFiles(paths); // bad paths fail before anything is printed
                    const seed = opts.seed ?? newSeed();
                    if (opts.grep !== undefined) {
                        try {
                            new RegExp(opts.grep);
                        } catch (e) {
                            throw new DiagnosticError("INVALID_ARGUMENT", `--grep is not a regular expression: ${(e as Error).message}`, { field: "--grep" });
                        }
                    }
                    say(`mfgsim run: seed ${seed}`);
                    const r = await runScenarioFiles(paths, {
                        seed,
                        ...(opts.grep !== undefined ? { grep: opts.grep } : {}),
                        onScenario: progress
                            ? s => say(`${s.status === "pending" ? "PENDING" : s.status.toUpperCase()} ${s.title}${s.status === "pending" ? ` (${s.checks[0]?.detail})` : s.failure ? `\n      ${s.failure}\n      replay: ${replayCommand(s.file, seed)}` : ""}`)
                            : undefined,
                    });
                    result = r.result;
                    seedLine = `seed ${r.seed} — replay: ${(r.result as { replay?: string }).replay}`;
                    if (r.runs.length === 0) throw new DiagnosticError("INVALID_SCENARIO", "no scenarios to run (nothing matched)", { field: opts.grep !== undefined ? "--grep" : "paths" });
                }
                await writeReports(result, { json: typeof opts.json === "string" ? opts.json : undefined, junit: opts.junit, html: opts.html }, opts.profile ? "mfgsim certification" : "mfgsim scenarios");
                const what = opts.profile ? "devices" : "scenarios";
                const lines = result.devices.filter(d => d.status === "fail").map(d => `FAIL  ${d.id} (${d.dir})${firstFailure(d)}`);
                lines.push(`${result.summary.total} ${what}: ${result.summary.passed} passed, ${result.summary.failed} failed (${(result.durationMs / 1000).toFixed(1)} s)`);
                if (seedLine) lines.push(seedLine);
                if (seedLine && opts.json === true) say(seedLine);
                return { json: result, text: lines.join("\n"), exitCode: result.summary.failed > 0 ? 1 : 0 };
            }),
        );
}
