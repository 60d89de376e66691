/**
 * OTA bench: a 1 MiB image end to end on loopback (announce → QueryImage → BDX into ota_1 → Matter digest +
 * esp_image_verify → otadata NEW → reboot through the bootloader → self-test over CASE → VALID).
 * Prints the total time and the BDX phase's KiB/s (matter.js uses 1024-byte blocks on UDP, one block per round trip).
 *
 *   node --import tsx bench/ota.ts [sizeKiB=1024] [runs=3]
 */
import { Logger, LogLevel } from "@matter/main";
import { appImage, commissionedDevice, makeOtaFixture, otaFile } from "../harness/ota/testing.js";
import { OtaProvider } from "../harness/ota/provider.js";
import { performOta } from "../harness/ota/ota.js";

Logger.level = LogLevel.ERROR;
const sizeKiB = Number(process.argv[2] ?? 1024);
const runs = Number(process.argv[3] ?? 3);
const fx = await makeOtaFixture();
const provider = await OtaProvider.start();
try {
    for (let i = 0; i < runs; i++) {
        const { dev, nodeId } = await commissionedDevice(fx, provider, { seed: i + 1 });
        provider.clearImages();
        await provider.addImages([otaFile(fx, appImage(2, { size: sizeKiB * 1024 }), 2)]);
        const r = await performOta(provider, dev, nodeId, { timeoutMs: 120_000 });
        const t = r.timings;
        console.log(
            `run ${i + 1}: ${r.status} ${sizeKiB} KiB image: total ${Math.round(t.totalMs)} ms; BDX ${t.bdxBytes} bytes in ${Math.round(t.transferMs ?? 0)} ms = ${Math.round(t.bdxKiBps ?? 0)} KiB/s; reboot ${Math.round(t.rebootMs ?? 0)} ms, self-test ${Math.round(t.selfTestMs ?? 0)} ms`,
        );
        await dev.powerOff();
    }
} finally {
    await provider.close();
    await fx.cleanup();
}
