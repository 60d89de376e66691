/**
 * One gate worker thread: its own matter.js instance, commissioner and trust store, checking the device
 * directories it is given and posting each DeviceResult back as soon as it is done.
 */
import { parentPort, workerData } from "node:worker_threads";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { gateDevicesInThread, type ThreadGateOptions } from "./run.js";

export interface GateWorkerData {
    entry?: string;
    dirs: string[];
    options: ThreadGateOptions;
}

export type GateWorkerMessage =
    | { type: "device"; result: import("../../reports/result.js").DeviceResult }
    | { type: "done" }
    | { type: "error"; error: { diagnostic: boolean; code: string; message: string; context: object; exitCode: 1 | 2 } };

const port = parentPort!;
const data = workerData as GateWorkerData;
// { type: "stop" } from the main thread: finish the devices in progress, start no more
const stop = new AbortController();
port.on("message", (m: { type?: string }) => {
    if (m?.type === "stop") stop.abort();
});
port.unref(); // listening for "stop" must not keep the thread alive once its devices are done
try {
    await gateDevicesInThread(data.dirs, data.options, result => port.postMessage({ type: "device", result } satisfies GateWorkerMessage), stop.signal);
    port.postMessage({ type: "done" } satisfies GateWorkerMessage);
} catch (e) {
    const d = e instanceof DiagnosticError;
    port.postMessage({
        type: "error",
        error: { diagnostic: d, code: d ? e.code : "INTERNAL", message: e instanceof Error ? e.message : String(e), context: d ? e.context : {}, exitCode: d ? e.exitCode : 2 },
    } satisfies GateWorkerMessage);
}
