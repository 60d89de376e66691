/**
 * Spreads device indices over the cores. For jobs ≤ half libuv's pool size (4 threads unless UV_THREADPOOL_SIZE),
 * one JavaScript thread and asynchronous PBKDF2 (runPipelined); beyond it, `jobs - 1` worker threads plus the calling thread, which has every module
 * loaded already and builds devices while the workers boot. Work goes out in dynamic chunks (smaller towards the
 * end) with one chunk queued ahead per worker, so no thread waits for the next one. From the TypeScript sources
 * (tests, MFGSIM_SOURCE=1, npm run bench) a worker runs an esbuild bundle of worker.ts; from
 * the build it loads worker.js directly (see workerSource).
 */
import { createHash } from "node:crypto";
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { generateVerifierAsync } from "../spake2p/verifier.js";
import { buildDevice, closeJournal, finishDevice, openJournal, planDevice, prepare, removeDeviceTempDirs, writeDevice, type BatchContext, type DeviceJournal, type DevicePlan } from "./device.js";
import type { WorkerError } from "./worker.js";

export function reviveError(e: WorkerError): Error {
    if (e.diagnostic) return new DiagnosticError(e.code, e.message, e.context as never, e.exitCode);
    return new Error(e.message);
}

/**
 * How a worker thread is started. From the build: worker.js. From the TypeScript sources, worker.ts and its
 * imports are bundled with esbuild (tsx's own dependency) into one CommonJS file in the temp dir, named by
 * content hash: a bundled worker boots in ~40 ms instead of ~300–700 ms through tsx's loader, which matters at
 * hundreds of devices per second. Without esbuild the worker loads worker.ts through tsx's in-thread CJS hook.
 */
type WorkerSource = { file: string | URL } | { eval: string };

async function workerSource(): Promise<WorkerSource> {
    const self = import.meta.url;
    if (!self.endsWith(".ts")) return { file: new URL("./worker.js", self) };
    const req = createRequire(fileURLToPath(self));
    const entry = fileURLToPath(new URL("./worker.ts", self));
    try {
        const esbuild = req("esbuild") as typeof import("esbuild");
        const out = await esbuild.build({ entryPoints: [entry], bundle: true, platform: "node", format: "cjs", target: "node20", write: false, logLevel: "silent" });
        const text = out.outputFiles[0]!.text;
        const file = join(tmpdir(), `mfgsim-generate-worker-${createHash("sha256").update(text).digest("hex").slice(0, 16)}.cjs`);
        if (!existsSync(file)) {
            const tmp = `${file}.${process.pid}.tmp`;
            writeFileSync(tmp, text, { mode: 0o644 });
            renameSync(tmp, file);
        }
        return { file };
    } catch {
        const api = join(dirname(req.resolve("tsx/package.json")), "dist/cjs/api/index.cjs");
        return {
            eval: `try { require(${JSON.stringify(api)}).register(); require(${JSON.stringify(entry)}); } catch (e) { ` +
                `require("node:worker_threads").parentPort.postMessage({ type: "error", error: { diagnostic: false, code: "INTERNAL", message: String(e && e.stack || e), context: {}, exitCode: 2 } }); }`,
        };
    }
}

function spawnWorker(source: WorkerSource, ctx: BatchContext): Worker {
    // execArgv: [] — a worker would otherwise inherit `--import tsx` and load tsx's loader for nothing (~300 ms)
    return "file" in source
        ? new Worker(source.file, { workerData: { ctx }, execArgv: [] })
        : new Worker(source.eval, { eval: true, workerData: { ctx }, execArgv: [] });
}

/**
 * PBKDF2 in flight per job in the pipelined mode. More than one: while this thread finishes a device, the cores
 * keep running other lanes' PBKDF2, and what exceeds libuv's pool waits in its queue, so a pool thread that
 * completes one starts the next at once instead of waiting for this thread. Measured on 2 cores (N=1000,
 * npm run bench): 2 lanes → 0.69 × floor, 3 → 0.79, 4 → 0.80–0.82, 6 → 0.83 (wall ratio = CPU ratio: no idle core).
 */
const LANES_PER_JOB = 3;

/** Size of libuv's thread pool (process-wide; crypto.pbkdf2 runs there). */
export function libuvPoolSize(): number {
    const n = Number(process.env.UV_THREADPOOL_SIZE);
    return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4;
}

/** `signal`: once it fires no device is started; those in progress are finished (see BatchOptions.signal). */
export async function runDevices(ctx: BatchContext, indices: readonly number[], jobs: number, onDevice: (j: DeviceJournal) => void, signal?: AbortSignal): Promise<void> {
    if (indices.length === 0) return;
    try {
        if (jobs * 2 <= libuvPoolSize()) await runPipelined(ctx, indices, jobs, onDevice, signal);
        else await runWorkers(ctx, indices, jobs, onDevice, signal);
    } catch (e) {
        // a worker terminated in the middle of writeDevice leaves its .tmp- directory: never a half-written device
        removeDeviceTempDirs(ctx.top, process.pid);
        throw e;
    }
}

/**
 * While 2 × jobs fit libuv's pool (jobs ≤ 2 with the default 4 threads): this thread builds every device while
 * `jobs × LANES_PER_JOB` PBKDF2 are in flight on libuv's thread pool. Each lane starts the PBKDF2 of its next
 * device before it finishes the current one (DAC, NVS, QR, files), so the cores always have PBKDF2 to run and
 * the rest of the work fills the CPU time between them. One JavaScript thread means one JIT warm-up, no worker boot and no messages per device — on
 * a 2-core machine that is ≈ 0.3–0.5 ms of CPU per device less than worker threads (bench/run.ts).
 */
async function runPipelined(ctx: BatchContext, indices: readonly number[], jobs: number, onDevice: (j: DeviceJournal) => void, signal?: AbortSignal): Promise<void> {
    const prep = prepare(ctx);
    const iterations = ctx.config.iterationCount;
    let next = 0;
    let failure: unknown;
    type Pending = { plan: DevicePlan; verifier: Promise<Uint8Array | undefined> };
    const start = (): Pending | undefined => {
        if (failure !== undefined || next >= indices.length || signal?.aborted) return undefined;
        const plan = planDevice(ctx, indices[next++]!);
        const verifier = plan.passcode === undefined ? Promise.resolve(undefined) : generateVerifierAsync(plan.passcode, plan.salt, iterations).then(v => v.verifier);
        verifier.catch(() => undefined); // awaited below; never an unhandled rejection while another lane fails
        return { plan, verifier };
    };
    const fd = openJournal(ctx.journal);
    try {
        // --jobs 1: one PBKDF2 at a time (it overlaps only with finishing the previous device)
        const laneCount = Math.max(1, Math.min(jobs === 1 ? 1 : jobs * LANES_PER_JOB, indices.length));
        const lanes = Array.from({ length: laneCount }, async () => {
            let pending: Pending | undefined;
            try {
                pending = start();
                while (pending) {
                    const verifier = await pending.verifier;
                    const current = pending;
                    pending = start(); // the pool gets this lane's next PBKDF2 before the rest of this device is built
                    if (failure !== undefined) break;
                    const dev = finishDevice(ctx, prep, current.plan, verifier);
                    writeDevice(ctx, dev, fd);
                    onDevice(dev.journal);
                }
            } catch (e) {
                failure ??= e;
            }
            if (pending) await pending.verifier.catch(() => undefined);
        });
        await Promise.all(lanes);
    } finally {
        closeJournal(fd);
    }
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
}

/** More jobs than the pipelined mode has pool threads for: `jobs - 1` worker threads plus this thread, each with synchronous PBKDF2. */
async function runWorkers(ctx: BatchContext, indices: readonly number[], jobs: number, onDevice: (j: DeviceJournal) => void, signal?: AbortSignal): Promise<void> {
    const threads = Math.max(1, Math.min(jobs, indices.length));
    const queue = signal?.aborted ? [] : [...indices];
    const onAbort = (): void => void queue.splice(0); // nothing more is handed out
    signal?.addEventListener("abort", onAbort, { once: true });
    const take = (): number[] => queue.splice(0, Math.max(1, Math.min(16, Math.ceil(queue.length / (threads * 3)))));
    const workers: Worker[] = [];
    let failure: Error | undefined;
    const fail = (e: Error): void => {
        failure ??= e;
    };
    try {
        // workers start when their code is ready; the calling thread builds devices meanwhile
        const sourceReady = threads > 1 ? workerSource() : undefined;
        const workerDone = Array.from({ length: threads - 1 }, async () => {
            const source = await sourceReady!;
            if (failure || queue.length === 0) return;
            const worker = spawnWorker(source, ctx);
            workers.push(worker);
            return new Promise<void>(resolveWorker => {
                let inFlight = 0;
                let closed = false;
                const feed = (): void => {
                    while (!failure && inFlight < 2 && queue.length > 0) {
                        worker.postMessage({ type: "run", indices: take() });
                        inFlight++;
                    }
                    if (inFlight === 0 && !closed) {
                        closed = true;
                        worker.postMessage({ type: "close" });
                        resolveWorker();
                    }
                };
                worker.on("message", (msg: { type: string; journal?: DeviceJournal; error?: WorkerError }) => {
                    if (msg.type === "ready") feed();
                    else if (msg.type === "device") onDevice(msg.journal!);
                    else if (msg.type === "chunk-done") {
                        inFlight--;
                        feed();
                    } else if (msg.type === "error") {
                        fail(reviveError(msg.error!));
                        inFlight = 0;
                        feed();
                    }
                });
                worker.on("error", e => {
                    fail(e);
                    resolveWorker();
                });
                worker.on("exit", code => {
                    if (!closed) fail(new Error(`worker exited with code ${code}`));
                    resolveWorker();
                });
            });
        });
        // the calling thread works too, one device at a time, yielding so worker messages are handled
        const prep = prepare(ctx);
        const fd = openJournal(ctx.journal);
        try {
            while (!failure && queue.length > 0) {
                const index = queue.shift()!;
                try {
                    const dev = buildDevice(ctx, prep, index);
                    writeDevice(ctx, dev, fd);
                    onDevice(dev.journal);
                } catch (e) {
                    fail(e instanceof Error ? e : new Error(String(e)));
                }
                await new Promise(r => setImmediate(r));
            }
        } finally {
            closeJournal(fd);
        }
        await Promise.all(workerDone);
        if (failure) throw failure;
    } finally {
        signal?.removeEventListener("abort", onAbort);
        await Promise.all(workers.map(w => w.terminate()));
    }
}
