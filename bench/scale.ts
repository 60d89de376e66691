/**
 * Scale probe (not a test): one long-lived commissioner commissions N virtual devices in one process, then reports
 * per-phase timings. `npx tsx bench/scale.ts [N] [concurrency] [keepAlive]`.
 * keepAlive=1 keeps every device running until the end (max devices alive per process).
 */
import { startDevice, type RunningDevice } from "../emulator/device/device.js";
import { MemoryStorageBackend } from "../emulator/device/storage.js";
import { createTestFactoryData, createTestPki } from "../emulator/device/testing.js";
import { Commissioner, quietMatterLogs } from "../harness/commissioner/commissioner.js";

quietMatterLogs();
const n = Number(process.argv[2] ?? 50);
const concurrency = Number(process.argv[3] ?? 1);
const keepAlive = process.argv[4] === "1";
const pki = await createTestPki();
const commissioner = await Commissioner.start();
const alive: RunningDevice[] = [];
const t: Record<string, number[]> = { boot: [], commission: [], read: [], teardown: [] };
let failures = 0;
const t0 = performance.now();
let next = 0;
async function worker() {
    while (next < n) {
        const i = next++;
        const { factoryData, passcode } = await createTestFactoryData(pki, { serialNumber: `SN-${i}`, discriminator: i & 0xfff });
        const dev = await startDevice({ factoryData, firmware: { softwareVersion: 1, softwareVersionString: "1" }, storage: new MemoryStorageBackend() });
        t.boot!.push(dev.timings.bootMs);
        const r = await commissioner.commission({ address: { ip: "127.0.0.1", port: dev.port }, passcode, attestation: async () => ({ result: "Success", code: 0, detail: "" }) });
        if (!r.ok || r.basicInformation?.serialNumber !== `SN-${i}`) failures++;
        t.commission!.push(r.totalMs - (r.steps.find(s => s.name === "basic-information")?.ms ?? 0));
        t.read!.push(r.steps.find(s => s.name === "basic-information")?.ms ?? NaN);
        if (keepAlive) {
            alive.push(dev);
        } else {
            await commissioner.disconnect(r.nodeId!);
            const s = performance.now();
            await dev.stop();
            t.teardown!.push(performance.now() - s);
        }
    }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const wall = performance.now() - t0;
const s = performance.now();
await Promise.all(alive.map(d => d.stop()));
if (keepAlive) t.teardown!.push((performance.now() - s) / Math.max(1, alive.length));
const c = performance.now();
await commissioner.close();
const stat = (a: number[]) => {
    const v = [...a].sort((x, y) => x - y);
    return { median: +v[Math.floor(v.length / 2)]!.toFixed(1), p95: +v[Math.floor(v.length * 0.95)]!.toFixed(1), max: +v[v.length - 1]!.toFixed(1) };
};
console.log(JSON.stringify({
    devices: n, concurrency, keepAlive, failures, msPerDevice: +(wall / n).toFixed(1),
    boot: stat(t.boot!), commission: stat(t.commission!), read: stat(t.read!), teardown: stat(t.teardown!),
    controllerCloseMs: +(performance.now() - c).toFixed(1), rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
}));
