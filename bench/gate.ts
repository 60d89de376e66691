/**
 * `npm run bench:gate`: ms per device for gating a generated batch (default 100 devices, --jobs 2), and where the
 * time goes, by check (boot, PASE, attestation, NOC, CASE, Basic Information read, …) plus what no check covers
 * (teardown, scheduling). Target (issue 6): ≤ 150 ms/device.
 *
 *   npx tsx bench/gate.ts [--n 100] [--jobs 2] [--iterations 10000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDemoBatch } from "../harness/demo/batch.js";
import { runGate } from "../harness/gate/index.js";

function arg(name: string): string | undefined {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
}

const N = Number(arg("n") ?? process.env.MFGSIM_BENCH_GATE_N ?? 100);
const JOBS = Number(arg("jobs") ?? 2);
const ITER = Number(arg("iterations") ?? 10000);
const dir = mkdtempSync(join(process.env.MFGSIM_BENCH_DIR ?? (process.platform === "linux" ? "/dev/shm" : tmpdir()), "mfgsim-bench-gate-"));
try {
    const t0 = performance.now();
    const demo = await makeDemoBatch({ dir, count: N, iterationCount: ITER, encrypt: true, seed: "bench-gate" });
    const genMs = performance.now() - t0;
    const cpu0 = process.cpuUsage();
    const result = await runGate([demo.outdir], { paaStore: demo.paaStore, cdSigners: demo.cdSigners, allowTestKeys: true, jobs: JOBS });
    const cpu = process.cpuUsage(cpu0);
    const perDevice = result.durationMs / N;
    const byCheck = new Map<string, number>();
    for (const d of result.devices) for (const c of d.checks) byCheck.set(c.name, (byCheck.get(c.name) ?? 0) + c.ms);
    const checked = [...byCheck.values()].reduce((a, b) => a + b, 0);
    console.log(`mfgsim bench:gate: ${N} devices (-e, ${ITER} iterations; generated in ${(genMs / 1000).toFixed(1)} s), --jobs ${JOBS}`);
    console.log(`  gate       : ${(result.durationMs / 1000).toFixed(2)} s  ${perDevice.toFixed(1)} ms/device  (target ≤ 150)  ${result.summary.passed}/${N} passed`);
    console.log(`  CPU        : ${((cpu.user + cpu.system) / 1000 / N).toFixed(1)} ms/device (one process: --jobs overlaps waiting, not CPU)`);
    console.log("  by check   : (sum over devices / N; with --jobs > 1 checks of different devices overlap)");
    for (const [name, ms] of byCheck) console.log(`    ${name.padEnd(18)} ${(ms / N).toFixed(1).padStart(7)} ms`);
    console.log(`    ${"(outside checks)".padEnd(18)} ${((result.durationMs * JOBS - checked) / N).toFixed(1).padStart(7)} ms  (teardown, scheduling; × jobs)`);
    console.log(JSON.stringify({ devices: N, jobs: JOBS, msPerDevice: +perDevice.toFixed(1), cpuMsPerDevice: +((cpu.user + cpu.system) / 1000 / N).toFixed(1), byCheck: Object.fromEntries([...byCheck].map(([k, v]) => [k, +(v / N).toFixed(1)])) }));
    if (result.summary.failed) process.exitCode = 1;
} finally {
    rmSync(dir, { recursive: true, force: true });
}
