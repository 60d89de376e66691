/**
 * `npm run bench`: `mfgsim generate` throughput against the PBKDF2 floor, in one run.
 *
 *   generate: N devices, -e (encrypted NVS + keys partition), 10000 PBKDF2 iterations, DACs from a test PAI,
 *             all cores (worker threads), into a temp dir.
 *   floor:    the same PBKDF2 work alone (N × PBKDF2-HMAC-SHA256, 10000 iterations, 80 bytes) on all cores.
 *
 * Size: MFGSIM_BENCH_N=200 npm run bench, or npm run bench -- --n 200 [--jobs J] [--iterations I] [--keep].
 * Reference: esp-matter-mfg-tool did 1000 such devices in 26.7 s (≈ 37 devices/s) on this machine kind.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { runBatch } from "../harness/mfg_tool/batch.js";
import type { MfgConfig } from "../harness/mfg_tool/options.js";
import { issuePaa, issuePai } from "../harness/pki/issue.js";
import { pem, pkcs8Der } from "../harness/pki/keys.js";

function arg(name: string): string | undefined {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
}

const N = Number(arg("n") ?? process.env.MFGSIM_BENCH_N ?? 1000);
const ITER = Number(arg("iterations") ?? process.env.MFGSIM_BENCH_ITERATIONS ?? 10000);
const JOBS = Number(arg("jobs") ?? cpus().length);
const KEEP = process.argv.includes("--keep");
/**
 * Where the batch is written: --dir / MFGSIM_BENCH_DIR, else tmpfs (/dev/shm) when present, else the OS temp dir.
 * On this VM's ext4 creating a device's two directories and 14 files costs 3–8 ms of kernel time (more than the
 * PBKDF2 itself); tmpfs takes ~0.25 ms. The filesystem is reported with the result.
 */
const BASE = arg("dir") ?? process.env.MFGSIM_BENCH_DIR ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
const MFG_TOOL_REFERENCE = 1000 / 26.7;

/** N PBKDF2 runs spread over `jobs` worker threads (dynamic chunks, like generate). */
async function pbkdf2Floor(n: number, jobs: number, iterations: number): Promise<number> {
    const code = `
        const { parentPort } = require("node:worker_threads");
        const { pbkdf2Sync, randomBytes } = require("node:crypto");
        parentPort.on("message", m => {
            if (m === "close") return parentPort.close();
            for (let i = 0; i < m; i++) {
                const pin = Buffer.alloc(4); pin.writeUInt32LE(20202021 + i);
                pbkdf2Sync(pin, randomBytes(32), ${iterations}, 80, "sha256");
            }
            parentPort.postMessage("done");
        });
        parentPort.postMessage("ready");`;
    let remaining = n;
    const chunk = Math.max(1, Math.min(16, Math.ceil(n / (jobs * 4))));
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await Promise.all(
        Array.from({ length: Math.min(jobs, n) }, () => new Promise<void>((resolve, reject) => {
            const w = new Worker(code, { eval: true });
            w.on("message", () => {
                const take = Math.min(chunk, remaining);
                remaining -= take;
                if (take === 0) {
                    void w.terminate().then(() => resolve());
                    return;
                }
                w.postMessage(take);
            });
            w.on("error", reject);
        })),
    );
    const c = process.cpuUsage(c0);
    lastCpu = (c.user + c.system) / 1e6;
    return (performance.now() - t0) / 1000;
}
let lastCpu = 0;

async function main(): Promise<void> {
    const dir = mkdtempSync(join(BASE, "mfgsim-bench-"));
    try {
        const paa = issuePaa({ vid: 0xfff2 });
        const pai = issuePai({ vid: 0xfff2, pid: 0x8001, issuer: { cert: paa.cert, key: paa.key } });
        writeFileSync(join(dir, "pai.pem"), pai.pem);
        writeFileSync(join(dir, "pai-key.pem"), pem("PRIVATE KEY", pkcs8Der(pai.key)), { mode: 0o600 });

        console.log(`mfgsim bench: ${N} devices, -e, ${ITER} iterations, ${JOBS} worker thread(s) on ${cpus().length} core(s), output under ${BASE}`);
        // the floor is measured before and after generate and averaged: other load on the machine then biases both alike
        const floorS1 = await pbkdf2Floor(N, JOBS, ITER);
        const floorCpu1 = lastCpu;

        const config: MfgConfig = {
            count: N, target: "esp32", size: 0x6000, encrypt: true, outdir: join(dir, "out"), generateBin: true, secureCertBin: true,
            commissioningFlow: 0, discoveryMode: 2, dynamicPasscode: false, iterationCount: ITER,
            commissionableDataInSecureCert: false, dacInSecureCert: false, rdIdUidInSecureCert: false,
            lifetimeDays: 36500, cnPrefix: "ESP32", attestation: "pai", cert: join(dir, "pai.pem"), key: join(dir, "pai-key.pem"),
            vendorId: 0xfff2, productId: 0x8001, vendorName: "Bench Vendor", productName: "Bench Product",
            enableRotatingDeviceId: false, jobs: JOBS, resume: false, svg: true,
        };
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const r = await runBatch(config, { cwd: dir });
        const cu = process.cpuUsage(c0);
        const genCpu = (cu.user + cu.system) / 1e6;
        const genS = (performance.now() - t0) / 1000;
        const rate = r.generated / genS;
        const floorS2 = await pbkdf2Floor(N, JOBS, ITER);
        const floorS = (floorS1 + floorS2) / 2;
        const floorCpu = (floorCpu1 + lastCpu) / 2;
        const floorRate = N / floorS;
        console.log(`  PBKDF2 floor : ${floorS.toFixed(2)} s  ${floorRate.toFixed(1)} devices/s  (${N} × PBKDF2-SHA256 ${ITER} it × 80 B, ${JOBS} threads; runs ${floorS1.toFixed(2)} s before, ${floorS2.toFixed(2)} s after)`);
        console.log(`  generate     : ${genS.toFixed(2)} s  ${rate.toFixed(1)} devices/s  (${r.generated} devices written to ${r.top})`);
        const ratio = rate / floorRate;
        console.log(`  ratio        : ${ratio.toFixed(3)} × floor (target ≥ 0.85) ${ratio >= 0.85 ? "OK" : "BELOW TARGET"}`);
        console.log(`  CPU time     : generate ${(genCpu / N * 1000).toFixed(2)} ms/device, PBKDF2 alone ${(floorCpu / N * 1000).toFixed(2)} ms/device → CPU ratio ${(floorCpu / genCpu).toFixed(3)} (less sensitive to other load on the machine)`);
        console.log(`  vs mfg_tool  : ${(rate / MFG_TOOL_REFERENCE).toFixed(1)} × esp-matter-mfg-tool (≈ ${MFG_TOOL_REFERENCE.toFixed(1)} devices/s reference)`);
        console.log(JSON.stringify({ devices: N, iterations: ITER, jobs: JOBS, generateSeconds: +genS.toFixed(3), devicesPerSecond: +rate.toFixed(1), floorDevicesPerSecond: +floorRate.toFixed(1), outputDir: BASE, ratio: +ratio.toFixed(3), cpuRatio: +(floorCpu / genCpu).toFixed(3) }));
    } finally {
        if (KEEP) console.log(`  kept ${dir}`);
        else rmSync(dir, { recursive: true, force: true });
    }
}

await main();
