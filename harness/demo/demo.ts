/**
 * `mfgsim demo`: the main job on built-in defaults. A throwaway test PKI, a small NVS-encrypted batch made by
 * `generate`, then `gate` over it (virtual devices on loopback, strict commissioner), reports in reports/out/.
 */
import { rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { writeReports } from "../../reports/index.js";
import type { RunResult } from "../../reports/result.js";
import { runGate } from "../gate/index.js";
import { makeDemoBatch } from "./batch.js";

export interface DemoOptions {
    /** Output root (default reports/out). */
    outRoot: string;
    count?: number;
    jobs?: number;
    onProgress?: (line: string) => void;
}

export interface DemoResult {
    result: RunResult;
    workDir: string;
    batchDir: string;
    reports: { json: string; junit: string; html: string };
    firstDevice?: { id: string; qrCode: string | null; manualCode: string | null };
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
    const workDir = join(o.outRoot, "demo");
    await rm(workDir, { recursive: true, force: true }); // generated output of the previous demo run
    o.onProgress?.(`generate: ${o.count ?? 3} devices (test PKI, NVS encryption, 10000 PBKDF2 iterations) → ${workDir}/out`);
    const demo = await makeDemoBatch({ dir: workDir, count: o.count ?? 3, encrypt: true });
    o.onProgress?.(`gate: booting and commissioning each device over UDP on 127.0.0.1`);
    const result = await runGate([demo.outdir], {
        paaStore: demo.paaStore,
        cdSigners: demo.cdSigners,
        allowTestKeys: true, // the demo's CD is signed by its own throwaway (test) CD signer
        jobs: o.jobs,
        onDevice: (d, done, total) => o.onProgress?.(`  [${done}/${total}] ${d.status.toUpperCase()} ${d.id}`),
    });
    const reports = {
        json: join(o.outRoot, "demo-report.json"),
        junit: join(o.outRoot, "demo-junit.xml"),
        html: join(o.outRoot, "index.html"),
    };
    await writeReports(result, reports, "mfgsim demo");
    const first = demo.batch.devices[0];
    return {
        result,
        workDir,
        batchDir: relative(process.cwd(), demo.batch.top) || demo.batch.top,
        reports,
        firstDevice: first ? { id: first.id, qrCode: first.qrCode, manualCode: first.manualCode } : undefined,
    };
}
