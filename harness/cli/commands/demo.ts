import type { Command } from "commander";
import { action } from "../action.js";
import { intIn } from "../args.js";

/** `mfgsim demo`: generate a small batch with a throwaway test PKI and gate it end to end. */
export function register(program: Command): void {
    program
        .command("demo")
        .description("the embedded default: a small batch with a throwaway test PKI, gated end to end; reports in reports/out/")
        .option("-n, --count <n>", "devices in the demo batch", intIn(1, 100, "--count"), 3)
        .option("--out <dir>", "output root", "reports/out")
        .option("--jobs <n>", "devices gated concurrently", intIn(1, 64, "--jobs"), 2)
        .option("--json", "print the gate result document on stdout")
        .action(
            action("demo", async (opts: { count: number; out: string; jobs: number; json?: boolean }) => {
                const { runDemo } = await import("../../demo/demo.js");
                const { summaryText } = await import("./gate.js");
                const demo = await runDemo({
                    outRoot: opts.out,
                    count: opts.count,
                    jobs: opts.jobs,
                    onProgress: opts.json ? undefined : line => process.stderr.write(line + "\n"),
                });
                const lines = [
                    summaryText(demo.result),
                    "",
                    `batch:   ${demo.batchDir} (esp-matter-mfg-tool layout + manifest.json)`,
                    demo.firstDevice ? `label:   ${demo.firstDevice.qrCode}  manual code ${demo.firstDevice.manualCode}  (device ${demo.firstDevice.id})` : "",
                    `reports: ${demo.reports.html}, ${demo.reports.junit}, ${demo.reports.json}`,
                    "",
                    "next: npx mfgsim gate <your mfg_tool out/> --paa-store <PAA dir>   (see README)",
                ];
                return { json: demo.result, text: lines.filter(l => l !== undefined).join("\n"), exitCode: demo.result.summary.failed > 0 ? 1 : 0 };
            }),
        );
}
