/**
 * Spreads device indices over worker threads (dynamic chunks, so a slow device never idles the others). From
 * the TypeScript sources (tests, `MFGSIM_SOURCE=1`) the workers load worker.ts through tsx; from the build,
 * worker.js directly. `jobs = 1` runs in the calling thread.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { buildDevice, closeJournal, openJournal, prepare, writeDevice, type BatchContext, type DeviceJournal } from "./device.js";
import type { WorkerError } from "./worker.js";

export function reviveError(e: WorkerError): Error {
    if (e.diagnostic) return new DiagnosticError(e.code, e.message, e.context as never, e.exitCode);
    return new Error(e.message);
}

/**
 * The worker entry. From the build: worker.js. From the TypeScript sources (tests, MFGSIM_SOURCE=1): a tiny
 * eval'd bootstrap registers tsx's ESM hooks inside the worker, then imports worker.ts (Node 20 does not apply
 * the parent's `--import tsx` hooks to workers reliably, and resolves `--import` against the working directory).
 */
function spawnWorker(ctx: BatchContext): Worker {
    const self = import.meta.url;
    if (!self.endsWith(".ts")) return new Worker(new URL("./worker.js", self), { workerData: { ctx } });
    // tsx's ESM API (package export "tsx/esm/api", import condition), found from here whether tsx loaded us as ESM or CJS
    const tsxDir = dirname(createRequire(fileURLToPath(self)).resolve("tsx/package.json"));
    const api = pathToFileURL(join(tsxDir, "dist/esm/api/index.mjs")).href;
    const entry = new URL("./worker.ts", self).href;
    const boot = `import(${JSON.stringify(api)}).then(m => { m.register(); return import(${JSON.stringify(entry)}); })` +
        `.catch(e => { require("node:worker_threads").parentPort.postMessage({ type: "error", error: { diagnostic: false, code: "INTERNAL", message: String(e && e.stack || e), context: {}, exitCode: 2 } }); });`;
    return new Worker(boot, { eval: true, workerData: { ctx } });
}

export async function runDevices(ctx: BatchContext, indices: readonly number[], jobs: number, onDevice: (j: DeviceJournal) => void): Promise<void> {
    if (indices.length === 0) return;
    const n = Math.max(1, Math.min(jobs, indices.length));
    if (n === 1) return runInline(ctx, indices, onDevice);
    const queue = [...indices];
    const chunkSize = Math.max(1, Math.min(16, Math.ceil(queue.length / (n * 4))));
    const workers: Worker[] = [];
    try {
        await new Promise<void>((resolveAll, rejectAll) => {
            let running = n;
            let failed = false;
            const fail = (e: Error): void => {
                if (failed) return;
                failed = true;
                rejectAll(e);
            };
            for (let w = 0; w < n; w++) {
                const worker = spawnWorker(ctx);
                workers.push(worker);
                const next = (): void => {
                    const chunk = queue.splice(0, chunkSize);
                    if (chunk.length === 0) {
                        worker.postMessage({ type: "close" });
                        if (--running === 0) resolveAll();
                        return;
                    }
                    worker.postMessage({ type: "run", indices: chunk });
                };
                worker.on("message", (msg: { type: string; journal?: DeviceJournal; error?: WorkerError }) => {
                    if (failed) return;
                    if (msg.type === "ready" || msg.type === "chunk-done") next();
                    else if (msg.type === "device") onDevice(msg.journal!);
                    else if (msg.type === "error") fail(reviveError(msg.error!));
                });
                worker.on("error", e => fail(e));
                worker.on("exit", code => {
                    if (code !== 0) fail(new Error(`worker exited with code ${code}`));
                });
            }
        });
    } finally {
        await Promise.all(workers.map(w => w.terminate()));
    }
}

async function runInline(ctx: BatchContext, indices: readonly number[], onDevice: (j: DeviceJournal) => void): Promise<void> {
    const prep = prepare(ctx);
    const fd = openJournal(ctx.journal);
    try {
        for (const index of indices) {
            const dev = buildDevice(ctx, prep, index);
            writeDevice(ctx, dev, fd);
            onDevice(dev.journal);
            await new Promise(r => setImmediate(r)); // let the progress bar draw
        }
    } finally {
        closeJournal(fd);
    }
}
