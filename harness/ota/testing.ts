/** Test/bench support: a demo-batch device on a virtual ESP32 with a v1 app in ota_0, and OTA images for it. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildAppImage, type BuildAppImageOptions } from "../../emulator/bootloader_support/index.js";
import { Efuses } from "../../emulator/efuse/index.js";
import { buildFlashImage, ESP_MATTER_PARTITIONS_CSV, VirtualEsp32 } from "../../emulator/esp32/index.js";
import { createOtaImage } from "../../emulator/ota_image/index.js";
import { makeDemoBatch } from "../demo/batch.js";
import { discoverDevices } from "../gate/discover.js";
import { readOnboardingCsv } from "../gate/gate.js";
import { VirtualOtaDevice } from "./ota.js";
import type { OtaProvider } from "./provider.js";

export interface OtaFixture {
    dir: string;
    fctry: Uint8Array;
    passcode: number;
    vendorId: number;
    productId: number;
    cleanup(): Promise<void>;
}

/** One device of a fresh demo batch (1000 PBKDF2 iterations: fast). */
export async function makeOtaFixture(): Promise<OtaFixture> {
    const dir = await mkdtemp(join(tmpdir(), "mfgsim-ota-"));
    const demo = await makeDemoBatch({ dir, count: 1, iterationCount: 1000, seed: "ota-fixture", jobs: 1 });
    const [files] = discoverDevices([demo.outdir]);
    const label = await readOnboardingCsv(files!.onboardingCodes!);
    return {
        dir,
        fctry: new Uint8Array(await readFile(files!.partition)),
        passcode: label.passcode!,
        vendorId: 0xfff1,
        productId: 0x8000,
        cleanup: () => rm(dir, { recursive: true, force: true }),
    };
}

export const CHIP = "esp32c3";

export function appImage(version: number, extra: Partial<BuildAppImageOptions> = {}): Uint8Array {
    return buildAppImage({ chip: CHIP, version: `v${version}.0`, matterSoftwareVersion: version, ...extra });
}

/** A chip with the v1 app in ota_0, the factory data in fctry; eFuses optional (secure boot, anti-rollback). */
export function makeChip(fx: Pick<OtaFixture, "fctry">, options: { app?: Uint8Array; efuses?: Efuses; seed?: number } = {}): VirtualEsp32 {
    const efuses = options.efuses ?? new Efuses(CHIP);
    const built = buildFlashImage({ chip: CHIP, partitions: ESP_MATTER_PARTITIONS_CSV, app: options.app ?? appImage(1), fctry: fx.fctry, efuses });
    return VirtualEsp32.fromImage(built.image, { chip: CHIP, efuses, seed: options.seed ?? 1 });
}

export function otaFile(fx: Pick<OtaFixture, "vendorId" | "productId">, payload: Uint8Array, version: number, extra: { vendorId?: number; productId?: number; minApplicableVersion?: number; maxApplicableVersion?: number } = {}): Uint8Array {
    return createOtaImage(
        {
            vendorId: extra.vendorId ?? fx.vendorId,
            productId: extra.productId ?? fx.productId,
            softwareVersion: version,
            softwareVersionString: `v${version}.0`,
            digestAlgorithm: "sha256",
            ...(extra.minApplicableVersion !== undefined ? { minApplicableVersion: extra.minApplicableVersion } : {}),
            ...(extra.maxApplicableVersion !== undefined ? { maxApplicableVersion: extra.maxApplicableVersion } : {}),
        },
        payload,
    ).image;
}

/**
 * A virtual device of the fixture's batch, powered on and commissioned to `provider` over loopback UDP. Throws
 * (with the device powered off) when its firmware does not start or commissioning fails.
 */
export async function commissionedDevice(fx: OtaFixture, provider: OtaProvider, chip: Parameters<typeof makeChip>[1] = {}): Promise<{ dev: VirtualOtaDevice; nodeId: bigint }> {
    const dev = new VirtualOtaDevice({ chip: makeChip(fx, chip) });
    try {
        const fw = await dev.powerOn();
        if (!fw.ok) throw new Error(`the device's firmware did not start: ${fw.error?.message}`);
        const nodeId = await provider.commission({ address: { ip: "127.0.0.1", port: dev.port! }, passcode: fx.passcode });
        return { dev, nodeId };
    } catch (e) {
        await dev.powerOff();
        throw e;
    }
}
