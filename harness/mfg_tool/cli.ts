/** Glue between the commander options of `generate` and the batch: option mapping, progress bar, result document. */
import type { CommandResult } from "../cli/action.js";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { defaultJobs, runBatch, type BatchResult } from "./batch.js";
import {
    PRODUCT_COLOR, PRODUCT_FINISH, enumValue, normalizeMfgDate, normalizeValidFrom, parseShard, usage, type MfgConfig,
} from "./options.js";
import { onInterrupt } from "../cli/interrupt.js";

type Opts = Record<string, unknown> & { json?: boolean };

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const int = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const list = (v: unknown): string[] | undefined => (Array.isArray(v) ? (v as string[]) : undefined);

export function buildConfig(o: Opts): MfgConfig {
    if (o.vendorId === undefined) throw usage("-v/--vendor-id is required", "--vendor-id");
    if (o.productId === undefined) throw usage("-p/--product-id is required", "--product-id");
    if (o.paa && o.pai) throw usage("--paa and --pai are mutually exclusive", "--paa");
    if (o.dsPeripheral || o.efuseKeyId !== undefined) {
        throw new DiagnosticError("ESP_ERR_NOT_SUPPORTED", "-ds/--ds-peripheral and --efuse-key-id need a connected chip; mfgsim does not support them", { field: "--ds-peripheral" });
    }
    const c: MfgConfig = {
        count: int(o.count) ?? 1,
        target: str(o.target) ?? "esp32",
        size: int(o.size) ?? 0x6000,
        encrypt: o.encrypt === true,
        outdir: str(o.outdir) ?? "out",
        generateBin: o.bin !== false,
        secureCertBin: o.secureCertBin !== false,
        commissioningFlow: (int(o.commissioningFlow) ?? 0) as 0 | 1 | 2,
        discoveryMode: int(o.discoveryMode) ?? 2,
        dynamicPasscode: o.enableDynamicPasscode === true,
        iterationCount: int(o.iterationCount) ?? 10000,
        commissionableDataInSecureCert: o.commissionableDataInSecureCert === true,
        dacInSecureCert: o.dacInSecureCert === true,
        rdIdUidInSecureCert: o.rdIdUidInSecureCert === true,
        lifetimeDays: int(o.lifetime) ?? 36500,
        cnPrefix: str(o.cnPrefix) ?? "ESP32",
        attestation: o.paa ? "paa" : o.pai ? "pai" : "none",
        vendorId: int(o.vendorId)!,
        productId: int(o.productId)!,
        enableRotatingDeviceId: o.enableRotatingDeviceId === true,
        jobs: int(o.jobs) ?? defaultJobs(),
        resume: o.resume === true,
        svg: o.svg !== false,
    };
    const opt = <K extends keyof MfgConfig>(k: K, v: MfgConfig[K] | undefined): void => {
        if (v !== undefined) c[k] = v;
    };
    opt("passcode", int(o.passcode));
    opt("discriminator", int(o.discriminator));
    opt("salt", str(o.salt));
    opt("verifier", str(o.verifier));
    opt("validFrom", str(o.validFrom) !== undefined ? normalizeValidFrom(str(o.validFrom)!) : undefined);
    opt("cert", str(o.cert));
    opt("key", str(o.key));
    opt("certDclrn", str(o.certDclrn));
    opt("dacCert", str(o.dacCert));
    opt("dacKey", str(o.dacKey));
    opt("vendorName", str(o.vendorName));
    opt("productName", str(o.productName));
    opt("hwVer", int(o.hwVer));
    opt("hwVerStr", str(o.hwVerStr));
    opt("mfgDate", str(o.mfgDate) !== undefined ? normalizeMfgDate(str(o.mfgDate)!) : undefined);
    opt("serialNum", str(o.serialNum));
    opt("rdIdUid", str(o.rdIdUid));
    opt("productFinish", str(o.productFinish) !== undefined ? enumValue(str(o.productFinish)!, PRODUCT_FINISH, "--product-finish") : undefined);
    opt("productColor", str(o.productColor) !== undefined ? enumValue(str(o.productColor)!, PRODUCT_COLOR, "--product-color") : undefined);
    opt("partNumber", str(o.partNumber));
    opt("calendarTypes", list(o.calendarTypes));
    opt("locales", list(o.locales));
    opt("fixedLabels", list(o.fixedLabels));
    opt("supportedModes", list(o.supportedModes));
    opt("productLabel", str(o.productLabel));
    opt("productUrl", str(o.productUrl));
    opt("csv", str(o.csv));
    opt("mcsv", str(o.mcsv));
    opt("seed", str(o.seed));
    opt("shard", str(o.shard) !== undefined ? parseShard(str(o.shard)!) : undefined);
    return c;
}

/** The --json document. */
export function resultJson(r: BatchResult): Record<string, unknown> {
    return {
        outdir: r.outdir,
        dir: r.top,
        manifest: r.manifest,
        count: r.count,
        generated: r.generated,
        resumed: r.resumed,
        seeded: r.seeded,
        shard: r.shard,
        jobs: r.jobs,
        durationMs: r.durationMs,
        summary: r.summaryCsv,
        cnDacs: r.cnDacsCsv,
        ...(r.interrupted ? { interrupted: true } : {}),
        devices: r.devices.map(d => ({ id: d.id, index: d.index, serial: d.serial, discriminator: d.discriminator, qrCode: d.qrCode, manualCode: d.manualCode, dir: d.id })),
    };
}

export async function runGenerate(config: MfgConfig, o: Opts): Promise<CommandResult> {
    const showBar = !o.json && o.progress !== false && process.stderr.isTTY === true;
    let bar: { start(total: number, v: number): void; update(v: number): void; stop(): void } | undefined;
    if (showBar) {
        const { default: cliProgress } = await import("cli-progress");
        bar = new cliProgress.SingleBar(
            { format: "generate [{bar}] {value}/{total} devices | {percentage}% | ETA {eta}s", stream: process.stderr, hideCursor: true },
            cliProgress.Presets.shades_classic,
        );
    }
    let started = false;
    // Ctrl-C (or a CI job's SIGTERM): start no more devices, finish those in progress, write the batch files for what
    // is complete; a second signal quits at once (what is half-written then is a .tmp- directory that --resume removes)
    const stop = onInterrupt("mfgsim generate: interrupted: finishing the devices in progress (Ctrl-C again to quit at once)", () => bar?.stop());
    try {
        const result = await runBatch(config, {
            cwd: process.cwd(),
            signal: stop.signal,
            onWarning: m => process.stderr.write(`mfgsim generate: warning: ${m}\n`),
            onProgress: (done, total) => {
                if (!bar || stop.signal.aborted) return;
                if (!started) {
                    bar.start(total, done);
                    started = true;
                } else bar.update(done);
            },
        });
        bar?.stop();
        const rate = result.generated > 0 ? (result.generated / (result.durationMs / 1000)).toFixed(1) : "-";
        const text = [
            ...(result.interrupted ? [`interrupted: ${result.count} device(s) complete; run the same command with --resume to make the rest`] : []),
            `generated ${result.generated} device(s)${result.resumed ? `, ${result.resumed} already complete (--resume)` : ""} in ${(result.durationMs / 1000).toFixed(2)} s (${rate}/s, ${result.jobs} job(s))`,
            `output:   ${result.top}`,
            `manifest: ${result.manifest}`,
            `summary:  ${result.summaryCsv}`,
            ...(result.cnDacsCsv ? [`cn_dacs:  ${result.cnDacsCsv}`] : []),
        ].join("\n");
        return { json: resultJson(result), text, ...(result.interrupted ? { exitCode: 130 as const } : {}) };
    } finally {
        stop.dispose();
        if (started) bar?.stop();
    }
}
