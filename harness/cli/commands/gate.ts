import type { Command } from "commander";
import { action } from "../action.js";
import { onInterrupt } from "../interrupt.js";
import type { ChipName } from "../../../emulator/efuse/chips.js";
import { chipArg, intIn } from "../args.js";

/** `mfgsim gate`: boot and commission every device of a batch; exit 1 if any device fails. */
export function register(program: Command): void {
    program
        .command("gate")
        .description(
            "for every device: mount its partition (and keys), boot the virtual device, commission it from its onboarding code " +
                "with a strict commissioner, verify attestation, compare Basic Information; exit 1 if any device fails",
        )
        .argument("<dirs...>", "mfg_tool/mfgsim output directory (out/ or out/<vid>_<pid>/) or device directories")
        .requiredOption("--paa-store <dir>", "trusted PAA certificates (DER or PEM files)")
        .option("--cd-signers <dir>", "extra Certification Declaration signer certificates")
        .option("--allow-test-keys", "accept CDs signed by test keys (development batches, the demo)")
        .option("--ota <image.ota>", "after the other checks pass, update each device with this Matter OTA file (ota_image_tool format): BDX into the next slot, reboot, self-test; the `ota` check and softwareVersionAfterOta")
        .option("--junit <file>", "write a JUnit XML report")
        .option("--html <file>", "write an HTML report")
        .option("--json [file]", "write the result document to <file>; without a file, print it on stdout")
        .option("--jobs <n>", "devices checked concurrently", intIn(1, 64, "--jobs"), 2)
        .option("--shard <k/n>", "check only the k-th of n deterministic slices of the devices")
        .option("--partitions <csv>", "the product's partition table CSV (default: esp-matter's; the factory partition is the nvs partition labelled fctry)")
        .option("--firmware <app.bin>", "the product's ESP-IDF app image to boot (default: a synthetic image, SoftwareVersion 1)")
        .option("--chip <chip>", "esp32, esp32c3, esp32s3, esp32c6 or esp32h2 (esp-matter-mfg-tool --target)", chipArg, "esp32c3" as ChipName)
        .action(
            action("gate", async (dirs: string[], opts: GateCliOptions) => {
                const { parseShard, runGate } = await import("../../gate/index.js");
                const { writeReports } = await import("../../../reports/index.js");
                const { DiagnosticError } = await import("../../../emulator/esp_common/err.js");
                if (opts.ota !== undefined) {
                    // unreadable or not a Matter OTA file: exit 2 before any device is booted
                    const { readFile } = await import("node:fs/promises");
                    const { decodeOtaImage } = await import("../../../emulator/ota_image/index.js");
                    let bytes: Uint8Array;
                    try {
                        bytes = new Uint8Array(await readFile(opts.ota));
                    } catch (e) {
                        throw new DiagnosticError("ENOENT", `cannot read OTA image: ${(e as Error).message}`, { file: opts.ota, field: "--ota" });
                    }
                    decodeOtaImage(bytes);
                }
                const { inFile, readInput, readTextInput } = await import("../io.js");
                const chip = opts.chip;
                const partitionsCsv = opts.partitions !== undefined ? await readTextInput(opts.partitions, "partition table CSV") : undefined;
                if (opts.partitions !== undefined && partitionsCsv !== undefined) {
                    const { parsePartitionCsv } = await import("../../../emulator/esp_partition/index.js");
                    inFile(opts.partitions, () => parsePartitionCsv(partitionsCsv)); // a broken table is bad input (exit 2), not a failing device
                }
                const appImage = opts.firmware !== undefined ? new Uint8Array(await readInput(opts.firmware, "app image")) : undefined;
                const shard = opts.shard ? parseShard(opts.shard) : undefined;
                const progress = !opts.json || typeof opts.json === "string";
                // Ctrl-C or a CI job's SIGTERM: finish the devices in progress, then write the reports with every device
                // not checked failing its `interrupted` check; a second signal quits at once
                const stop = onInterrupt("mfgsim gate: interrupted: finishing the devices in progress, then writing the reports (again to quit at once)");
                const result = await runGate(dirs, {
                    signal: stop.signal,
                    paaStore: opts.paaStore,
                    cdSigners: opts.cdSigners,
                    allowTestKeys: opts.allowTestKeys,
                    jobs: opts.jobs,
                    shard,
                    chip,
                    ...(opts.ota !== undefined ? { ota: opts.ota } : {}),
                    ...(partitionsCsv !== undefined ? { partitionsCsv } : {}),
                    ...(appImage !== undefined ? { appImage } : {}),
                    onDevice: progress
                        ? (d, done, total) => process.stderr.write(`[${done}/${total}] ${d.status.toUpperCase()} ${d.id}${firstFailure(d)}\n`)
                        : undefined,
                }).finally(() => stop.dispose());
                await writeReports(result, {
                    json: typeof opts.json === "string" ? opts.json : undefined,
                    junit: opts.junit,
                    html: opts.html,
                }, "mfgsim gate");
                return { json: result, text: summaryText(result), exitCode: result.interrupted ? 130 : result.summary.failed > 0 ? 1 : 0 };
            }),
        );
}

interface GateCliOptions {
    paaStore: string;
    cdSigners?: string;
    allowTestKeys?: boolean;
    ota?: string;
    junit?: string;
    html?: string;
    json?: boolean | string;
    jobs: number;
    shard?: string;
    partitions?: string;
    firmware?: string;
    chip: ChipName;
}

type Device = { checks: Array<{ name: string; status: string; detail: string }> };

function firstFailure(d: Device): string {
    const f = d.checks.find(c => c.status === "fail");
    return f ? ` — ${f.name}: ${f.detail}` : "";
}

export function summaryText(r: { summary: { total: number; passed: number; failed: number }; durationMs: number; devices: Array<Device & { id: string; status: string }> }): string {
    const lines = r.devices.map(d => `${d.status === "pass" ? "PASS" : "FAIL"}  ${d.id}${firstFailure(d)}`);
    lines.push(`${r.summary.total} devices: ${r.summary.passed} passed, ${r.summary.failed} failed (${(r.durationMs / 1000).toFixed(1)} s)`);
    return lines.join("\n");
}
