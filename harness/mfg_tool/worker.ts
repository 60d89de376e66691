/** Worker thread of `generate`: builds and writes the devices the main thread hands it, one message per device. */
import { parentPort, workerData } from "node:worker_threads";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { buildDevice, closeJournal, openJournal, prepare, writeDevice, type BatchContext } from "./device.js";

export interface WorkerError {
    diagnostic: boolean;
    code: string;
    message: string;
    context: Record<string, unknown>;
    exitCode: 1 | 2;
}

export function serializeError(e: unknown): WorkerError {
    if (e instanceof DiagnosticError) return { diagnostic: true, code: e.code, message: e.message, context: { ...e.context }, exitCode: e.exitCode };
    const err = e instanceof Error ? e : new Error(String(e));
    return { diagnostic: false, code: "INTERNAL", message: `${err.message}\n${err.stack ?? ""}`, context: {}, exitCode: 2 };
}

const port = parentPort;
if (port) {
    const ctx = (workerData as { ctx: BatchContext }).ctx;
    let fd: number | undefined;
    try {
        const prep = prepare(ctx);
        fd = openJournal(ctx.journal);
        const journalFd = fd;
        port.on("message", (msg: { type: "run"; indices: number[] } | { type: "close" }) => {
            if (msg.type === "close") {
                closeJournal(journalFd);
                port.close();
                return;
            }
            for (const index of msg.indices) {
                try {
                    const dev = buildDevice(ctx, prep, index);
                    writeDevice(ctx, dev, journalFd);
                    port.postMessage({ type: "device", journal: dev.journal });
                } catch (e) {
                    port.postMessage({ type: "error", error: serializeError(e) });
                    return;
                }
            }
            port.postMessage({ type: "chunk-done" });
        });
        port.postMessage({ type: "ready" });
    } catch (e) {
        port.postMessage({ type: "error", error: serializeError(e) });
    }
}
