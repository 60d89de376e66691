/**
 * Spreads device indices over threads: `jobs - 1` worker threads plus the calling thread, which has every module
 * loaded already and builds devices while the workers boot. Work goes out in dynamic chunks (smaller towards the
 * end) with one chunk queued ahead per worker, so no thread waits for the next one. From the TypeScript sources
 * (tests, MFGSIM_SOURCE=1, npm run bench) a worker loads worker.ts through tsx's in-thread CommonJS hook; from
 * the build it loads worker.js directly.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { buildDevice, closeJournal, openJournal, prepare, writeDevice, type BatchContext, type DeviceJournal } from "./device.js";
import type { WorkerError } from "./worker.js";

export function reviveError(e: WorkerError): Error {
    if (e.diagnostic) return new DiagnosticError(e.code, e.message, e.context as never, e.exitCode);
    return new Error(e.message);
}

function spawnWorker(ctx: BatchContext): Worker {
    const self = import.meta.url;
    if (!self.endsWith(".ts")) return new Worker(new URL("./worker.js", self), { workerData: { ctx } });
    // tsx found from here (not from the working directory, which may be anywhere)
    const tsxDir = dirname(createRequire(fileURLToPath(self)).resolve("tsx/package.json"));
    const api = join(tsxDir, "dist/cjs/api/index.cjs");
    const entry = fileURLToPath(new URL("./worker.ts", self));
    const boot = `try { require(${JSON.stringify(api)}).register(); require(${JSON.stringify(entry)}); } catch (e) { ` +
        `require("node:worker_threads").parentPort.postMessage({ type: "error", error: { diagnostic: false, code: "INTERNAL", message: String(e && e.stack || e), context: {}, exitCode: 2 } }); }`;
    return new Worker(boot, { eval: true, workerData: { ctx } });
}

export async function runDevices(ctx: BatchContext, indices: readonly number[], jobs: number, onDevice: (j: DeviceJournal) => void): Promise<void> {
    if (indices.length === 0) return;
    const threads = Math.max(1, Math.min(jobs, indices.length));
    const queue = [...indices];
    const take = (): number[] => queue.splice(0, Math.max(1, Math.min(16, Math.ceil(queue.length / (threads * 3)))));
    const workers: Worker[] = [];
    let failure: Error | undefined;
    const fail = (e: Error): void => {
        failure ??= e;
    };
    try {
        const workerDone = Array.from({ length: threads - 1 }, () => {
            const worker = spawnWorker(ctx);
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
        await Promise.all(workers.map(w => w.terminate()));
    }
}
