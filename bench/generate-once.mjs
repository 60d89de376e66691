// One `mfgsim generate` run, measured from inside a fresh process (bench/run.ts starts one per cold sample). It
// loads `runBatch` the way `npx mfgsim` loads the CLI (harness/cli/launch.mjs: dist/ when the build is fresh,
// else the sources through tsx), so its JavaScript starts cold like a real `mfgsim generate`. Process start and
// module loading are not timed; PBKDF2, JIT warm-up, GC and file writes are.
//
//   node bench/generate-once.mjs '<json: {dir, n, iterations, jobs, warm}>'
//   → one JSON line { from: "build" | "sources", cold: Sample, warm: Sample[] }
// `warm` W runs W more batches in the same process afterwards (reported apart: JIT already warm).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { importProject, useBuild } from "../harness/cli/launch.mjs";

/** CPU seconds per thread of this process (/proc/self/task), keyed by thread id, or undefined off Linux. */
function threadCpuSeconds() {
    try {
        const out = new Map();
        for (const t of readdirSync("/proc/self/task")) {
            try {
                const st = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
                const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
                out.set(t, (Number(f[11]) + Number(f[12])) / 100);
            } catch {
                // the thread ended meanwhile
            }
        }
        return out;
    } catch {
        return undefined;
    }
}

/** Busy seconds of the whole machine (/proc/stat: all but idle and iowait), or undefined off Linux. */
function machineBusySeconds() {
    try {
        const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
        const total = f.reduce((a, b) => a + b, 0);
        return (total - f[3] - (f[4] ?? 0)) / 100; // USER_HZ = 100 on Linux
    } catch {
        return undefined;
    }
}

const input = JSON.parse(process.argv[2]);
const { runBatch } = await importProject("harness/mfg_tool/batch");

async function once(k) {
    const config = {
        count: input.n, target: "esp32", size: 0x6000, encrypt: true, outdir: join(input.dir, `out-${process.pid}-${k}`), generateBin: true, secureCertBin: true,
        commissioningFlow: 0, discoveryMode: 2, dynamicPasscode: false, iterationCount: input.iterations,
        commissionableDataInSecureCert: false, dacInSecureCert: false, rdIdUidInSecureCert: false,
        lifetimeDays: 36500, cnPrefix: "ESP32", attestation: "pai", cert: join(input.dir, "pai.pem"), key: join(input.dir, "pai-key.pem"),
        vendorId: 0xfff2, productId: 0x8001, vendorName: "Bench Vendor", productName: "Bench Product",
        enableRotatingDeviceId: false, jobs: input.jobs, resume: false, svg: true,
    };
    const busy0 = machineBusySeconds();
    const threads0 = threadCpuSeconds();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await runBatch(config, { cwd: input.dir });
    const wall = (performance.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    const threads1 = threadCpuSeconds();
    const busy1 = machineBusySeconds();
    const cpu = (cu.user + cu.system) / 1e6;
    const out = { wall, cpu, generated: r.generated, top: r.top };
    // the calling thread: the JavaScript of every device in the pipelined mode; the other threads split into the
    // PBKDF2 ones (libuv's pool: each busy most of the run) and V8's GC/compiler helpers (each a small share)
    if (threads0 && threads1) {
        out.main = (threads1.get(String(process.pid)) ?? 0) - (threads0.get(String(process.pid)) ?? 0);
    }
    // only in the pipelined mode (harness/mfg_tool/pool.ts: jobs ≤ half libuv's pool); worker threads build devices too
    const pool = Number(process.env.UV_THREADPOOL_SIZE) > 0 ? Number(process.env.UV_THREADPOOL_SIZE) : 4;
    if (threads0 && threads1 && input.jobs * 2 <= pool) {
        let pbkdf2 = 0;
        for (const [t, c] of threads1) {
            if (t === String(process.pid)) continue;
            const d = c - (threads0.get(t) ?? 0);
            if (d > 0.25 * wall) pbkdf2 += d;
        }
        out.pbkdf2 = pbkdf2;
    }
    if (busy0 !== undefined && busy1 !== undefined) out.otherLoad = Math.max(0, busy1 - busy0 - cpu) / wall;
    return out;
}

const cold = await once(0);
const warm = [];
for (let k = 1; k <= input.warm; k++) warm.push(await once(k));
process.stdout.write(JSON.stringify({ from: useBuild() ? "build" : "sources", cold, warm }) + "\n");
