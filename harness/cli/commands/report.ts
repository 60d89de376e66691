import type { Command } from "commander";
import { join } from "node:path";
import { DiagnosticError } from "../../../emulator/esp_common/err.js";
import { action } from "../action.js";
import { readTextInput } from "../io.js";

/** `mfgsim report merge <json…> -o <dir>`: shard results → one JUnit/HTML/JSON report. */
export function register(program: Command): void {
    const report = program.command("report").description("CI reports from gate/run results");
    report
        .command("merge")
        .description("merge shard results (gate/run --json files) into one JSON, JUnit and HTML report")
        .argument("<json...>", "result files written by `gate --json` or `run --json`")
        .requiredOption("-o, --outdir <dir>", "directory for report.json, junit.xml and report.html")
        .option("--json", "print the merged result document on stdout")
        .action(
            action("report merge", async (files: string[], opts: { outdir: string; json?: boolean }) => {
                const { parseRunResult, mergeResults, writeReports } = await import("../../../reports/index.js");
                const inputs = [];
                for (const file of files) {
                    const text = await readTextInput(file, "result file");
                    let value: unknown;
                    try {
                        value = JSON.parse(text);
                    } catch (e) {
                        throw new DiagnosticError("INVALID_RESULT_FILE", `not JSON: ${(e as Error).message}`, { file });
                    }
                    inputs.push({ file, result: parseRunResult(value, file) });
                }
                const merged = mergeResults(inputs);
                const targets = {
                    json: join(opts.outdir, "report.json"),
                    junit: join(opts.outdir, "junit.xml"),
                    html: join(opts.outdir, "report.html"),
                };
                await writeReports(merged, targets, "mfgsim merged report");
                const { total, passed, failed } = merged.summary;
                return {
                    json: merged,
                    text: `${files.length} result files: ${total} devices, ${passed} passed, ${failed} failed\n` +
                        `wrote ${targets.json}, ${targets.junit}, ${targets.html}`,
                    exitCode: failed > 0 ? 1 : 0,
                };
            }),
        );
}
