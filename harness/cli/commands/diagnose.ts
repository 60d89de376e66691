import type { Command } from "commander";
import { action } from "../action.js";

interface DiagnoseCliOptions {
    efuse?: string;
    flashKey?: string;
    keys?: string;
    code?: string;
    paaStore?: string;
    cdSigners?: string;
    allowTestKeys?: boolean;
    label: string;
    commission: boolean;
    json?: boolean;
}

/** `mfgsim diagnose`: why a device's flash does not commission — findings in order, each with its error name and likely cause. */
export function register(program: Command): void {
    program
        .command("diagnose")
        .description(
            "boot a flash dump (esptool read_flash 0 ALL) — or a bare factory NVS partition — on the virtual ESP32: boot trace, partition table, " +
                "factory data (secrets redacted), every finding that stops commissioning with its ESP-IDF/CHIP error name and likely cause, " +
                "then a real commissioning attempt when everything reads; exit 1 when something would stop commissioning",
        )
        .argument("<image>", "full flash dump, or a factory NVS partition (<uuid>-partition.bin)")
        .option("--efuse <efuse.json>", "eFuse summary (espefuse summary --format json): chip, flash encryption")
        .option("--flash-key <key.bin>", "flash encryption key (raw 32/64 bytes) when the eFuse summary cannot show it")
        .option("--keys <keys.bin>", "bare-partition mode: the nvs_keys partition (NVS encryption)")
        .option("--code <QR|manual>", "the label's onboarding code (MT:… or 11/21 digits)")
        .option("--paa-store <dir>", "the commissioner's trusted PAA certificates")
        .option("--cd-signers <dir>", "extra Certification Declaration signer certificates")
        .option("--allow-test-keys", "accept CDs signed by test keys (development batches)")
        .option("--label <name>", "factory partition label (CONFIG_CHIP_FACTORY_NAMESPACE_PARTITION_LABEL)", "fctry")
        .option("--no-commission", "do not commission the virtual device even when everything reads")
        .option("--json", "print one JSON document on stdout")
        .addHelpText("after", "\nExample:\n  mfgsim diagnose flash.bin --efuse flash.efuse.json --code MT:Y.K9042C00KA0648G00 --paa-store pki/paa-store --allow-test-keys\n")
        .action(
            action("diagnose", async (file: string, opts: DiagnoseCliOptions) => {
                const { readInput } = await import("../io.js");
                const { diagnose } = await import("../../diagnose/index.js");
                const { DiagnosticError } = await import("../../../emulator/esp_common/err.js");
                const image = new Uint8Array(await readInput(file, "flash image"));
                const efuses = opts.efuse ? (await readInput(opts.efuse, "eFuse summary")).toString("utf8") : undefined;
                const flashKey = opts.flashKey ? new Uint8Array(await readInput(opts.flashKey, "flash encryption key")) : undefined;
                if (flashKey && flashKey.length !== 32 && flashKey.length !== 64) throw new DiagnosticError("ESP_ERR_INVALID_SIZE", `flash encryption key is ${flashKey.length} bytes (32 or 64 expected)`, { file: opts.flashKey! });
                const keysPartition = opts.keys ? new Uint8Array(await readInput(opts.keys, "nvs_keys partition")) : undefined;
                let trust;
                if (opts.paaStore) {
                    const { loadTrustStore } = await import("../../pki/trust-dir.js");
                    trust = await loadTrustStore({ paaStore: opts.paaStore, ...(opts.cdSigners ? { cdSigners: opts.cdSigners } : {}) });
                }
                const withFile = (e: unknown) => (e instanceof DiagnosticError && !e.context.file ? e.withContext({ file }) : e);
                let report;
                try {
                    report = await diagnose(image, {
                        ...(efuses !== undefined ? { efuses } : {}), ...(flashKey ? { flashKey } : {}), ...(keysPartition ? { keysPartition } : {}),
                        ...(opts.code !== undefined ? { code: opts.code } : {}), ...(trust ? { trust } : {}),
                        allowTestKeys: opts.allowTestKeys ?? false, commission: opts.commission, factoryLabel: opts.label,
                    });
                } catch (e) {
                    throw withFile(e);
                }
                const hex = (n: number | null) => (n === null ? "-" : `0x${n.toString(16)}`);
                const lines: string[] = [];
                if (report.bootLog.length) lines.push("== boot log", ...report.bootLog, "");
                if (report.partitions.length) {
                    lines.push("== partition table");
                    for (const p of report.partitions) lines.push(`  ${p.name.padEnd(16)} ${p.type.padEnd(5)} ${p.subtype.padEnd(9)} ${hex(p.offset).padStart(9)} ${hex(p.size).padStart(9)}${p.encrypted ? "  encrypted" : ""}`);
                    lines.push("");
                }
                if (report.factory) {
                    lines.push(`== factory partition ${report.factory.label} at ${hex(report.factory.offset)} (${report.factory.size} bytes${report.factory.nvsEncryption ? ", NVS-encrypted" : ""})`);
                    for (const e of report.factory.entries) lines.push(`  ${e.namespace}/${e.key} (${e.type}) = ${typeof e.value === "string" ? e.value : String(e.value)}`);
                    lines.push("");
                }
                lines.push(report.findings.length ? `== ${report.findings.length} finding(s) that stop commissioning, in order` : "== no findings");
                report.findings.forEach((f, i) => {
                    lines.push(`${i + 1}. [${f.stage}] ${f.code}: ${f.message}`, `   likely cause: ${f.cause}${f.issues.length ? ` (${f.issues.join(", ")})` : ""}`);
                });
                lines.push(`== commissioning: ${report.commissioning.attempted ? (report.commissioning.ok ? "OK — " : "FAILED — ") : ""}${report.commissioning.detail}`);
                return { json: report, text: lines.join("\n"), exitCode: report.ok ? 0 : 1 };
            }),
        );
}
