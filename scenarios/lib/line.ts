/**
 * The production line a scenario draws devices from: a seeded test PKI, batches made by `generate` exactly as
 * a factory runs it (cached per seed and options, so many scenarios share one batch), devices loaded from an
 * mfg_tool folder or a flash dump, a clock, and one strict commissioner shared by every scenario of a run.
 */
import { LogLevel } from "@matter/main";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { Efuses } from "../../emulator/efuse/index.js";
import { bootChip, ESP_SECURE_CERT_TYPE, VirtualEsp32 } from "../../emulator/esp32/index.js";
import { DataSubtype, PartitionType } from "../../emulator/esp_partition/index.js";
import { writeFileAtomic, writePrivateFile } from "../../harness/cli/io.js";
import { Commissioner, quietMatterLogs } from "../../harness/commissioner/index.js";
import { OtaProvider } from "../../harness/ota/index.js";
import { deviceInDir } from "../../harness/gate/discover.js";
import { readOnboardingCsv } from "../../harness/gate/gate.js";
import { runBatch } from "../../harness/mfg_tool/batch.js";
import { buildConfig } from "../../harness/mfg_tool/cli.js";
import { createTestPki, pem, pkcs8Der, type TestPki } from "../../harness/pki/index.js";
import { Device, type Label } from "./device.js";

/** What a Device needs from its line. */
export interface LineContext {
    readonly seed: string;
    readonly pki: TestPki;
    commissioner(): Promise<Commissioner>;
    /** The line's OTA provider (its own fabric; shared by every scenario of a run). */
    otaProvider(): Promise<OtaProvider>;
    clock(): Date;
    /** Records a step of the scenario (a check in the report). */
    step(name: string, detail: string, ms?: number): void;
}

/** A device from a seeded batch, as `generate` (esp-matter-mfg-tool flags) would make it. */
export interface DeviceSpec {
    /** -e/--encrypt: NVS-encrypted factory partition + keys partition. Default false. */
    encrypt?: boolean;
    /** --dac-in-secure-cert: DAC, key and PAI in esp_secure_cert instead of NVS. */
    dacInSecureCert?: boolean;
    /** --mfg-date (YYYY-MM-DD or YYYYMMDD). Default 2026-11-25. */
    mfgDate?: string;
    /** -s/--size of the factory partition. Default 0x6000. */
    size?: number;
    /** --passcode (default: random from the seed). */
    passcode?: number;
    /** --discriminator (default: random from the seed). */
    discriminator?: number;
    vendorId?: number;
    productId?: number;
}

const DEFAULT_VID = 0xfff1;
const DEFAULT_PID = 0x8000;

/** Shared by every scenario of one run: temp dir, batches, PKIs, the commissioner. */
export class LineResources {
    #dir: Promise<string> | undefined;
    readonly #batches = new Map<string, Promise<{ top: string; files: ReturnType<typeof deviceInDir> & object; label: Label }>>();
    readonly #pkis = new Map<string, TestPki>();
    #commissioner: Promise<Commissioner> | undefined;
    #otaProvider: Promise<OtaProvider> | undefined;
    /** PBKDF2 iterations of seeded batches (low: scenarios need many devices quickly). */
    readonly iterationCount: number;

    constructor(o: { iterationCount?: number } = {}) {
        this.iterationCount = o.iterationCount ?? 1000;
        // scenarios provoke failures on purpose: matter.js's own error logs would drown the report (MFGSIM_DEBUG shows them)
        quietMatterLogs(process.env.MFGSIM_DEBUG ? LogLevel.INFO : LogLevel.FATAL);
    }

    dir(): Promise<string> {
        return (this.#dir ??= mkdtemp(join(tmpdir(), "mfgsim-scenarios-")));
    }

    pki(seed: string, vid = DEFAULT_VID, pid = DEFAULT_PID): TestPki {
        const key = `${seed}/${vid}/${pid}`;
        let p = this.#pkis.get(key);
        if (!p) this.#pkis.set(key, (p = createTestPki({ vid, pid, seed })));
        return p;
    }

    commissioner(): Promise<Commissioner> {
        if (!this.#commissioner) {
            this.#commissioner = Commissioner.start();
        }
        return this.#commissioner;
    }

    /** The OTA provider every `dev.update()` of the run talks to (started on first use). */
    otaProvider(): Promise<OtaProvider> {
        if (!this.#otaProvider) {
            const p = OtaProvider.start({ fabricLabel: "mfgsim-scenarios-ota" });
            this.#otaProvider = p;
            p.catch(() => {
                if (this.#otaProvider === p) this.#otaProvider = undefined;
            });
        }
        return this.#otaProvider;
    }

    /** One device directory of a seeded batch (generated once per seed and spec). */
    batchDevice(seed: string, spec: DeviceSpec) {
        const key = JSON.stringify([seed, spec]);
        let b = this.#batches.get(key);
        if (!b) {
            b = this.#makeBatch(seed, spec, this.#batches.size);
            this.#batches.set(key, b);
            b.catch(() => this.#batches.delete(key));
        }
        return b;
    }

    async #makeBatch(seed: string, spec: DeviceSpec, n: number) {
        const vid = spec.vendorId ?? DEFAULT_VID;
        const pid = spec.productId ?? DEFAULT_PID;
        const pki = this.pki(seed, vid, pid);
        const dir = join(await this.dir(), `batch-${n}`);
        await writeFileAtomic(join(dir, "pki", "PAI.pem"), pki.pai.pem);
        await writePrivateFile(join(dir, "pki", "PAI-key.pem"), pem("PRIVATE KEY", pkcs8Der(pki.pai.key)));
        await writeFileAtomic(join(dir, "pki", "CD.der"), pki.cd);
        const config = buildConfig({
            count: 1, vendorId: vid, productId: pid, pai: true,
            cert: join(dir, "pki", "PAI.pem"), key: join(dir, "pki", "PAI-key.pem"), certDclrn: join(dir, "pki", "CD.der"),
            outdir: join(dir, "out"), encrypt: spec.encrypt ?? false, iterationCount: this.iterationCount,
            vendorName: "mfgsim scenarios", productName: "Virtual Light", hwVer: 1, hwVerStr: "1.0",
            mfgDate: spec.mfgDate ?? "2026-11-25", seed, jobs: 1, discoveryMode: 2,
            ...(spec.size !== undefined ? { size: spec.size } : {}),
            ...(spec.passcode !== undefined ? { passcode: spec.passcode } : {}),
            ...(spec.discriminator !== undefined ? { discriminator: spec.discriminator } : {}),
            ...(spec.dacInSecureCert ? { dacInSecureCert: true } : {}),
        });
        const batch = await runBatch(config, { cwd: dir });
        const rec = batch.devices[0]!;
        const files = deviceInDir(join(batch.top, rec.id));
        if (!files) throw new DiagnosticError("ENOENT", `generate wrote no partition for ${rec.id}`, { file: batch.top });
        const label = files.onboardingCodes ? await readOnboardingCsv(files.onboardingCodes) : {};
        return { top: batch.top, files, label };
    }

    async close(): Promise<void> {
        const c = this.#commissioner;
        this.#commissioner = undefined;
        if (c) await (await c).close();
        const o = this.#otaProvider;
        this.#otaProvider = undefined;
        if (o) await (await o.catch(() => undefined))?.close();
        const d = this.#dir;
        this.#dir = undefined;
        if (d) await rm(await d, { recursive: true, force: true });
    }
}

/** The `line` of a scenario. */
export class ProductionLine {
    #now: Date | undefined;
    readonly #devices: Device[] = [];
    readonly context: LineContext;

    constructor(
        private readonly resources: LineResources,
        readonly seed: string,
        step: LineContext["step"],
    ) {
        const self = this;
        this.context = {
            seed,
            get pki() {
                return resources.pki(seed);
            },
            commissioner: () => resources.commissioner(),
            otaProvider: () => resources.otaProvider(),
            clock: () => self.#now ?? new Date(),
            step,
        };
    }

    /** The line's test PKI (PAA, PAI, CD signer, CD), reproducible from the seed. */
    get pki(): TestPki {
        return this.context.pki;
    }

    /** Sets the commissioner's clock (certificate validity is judged at this time). */
    setClock(date: Date): void {
        this.#now = date;
        this.context.step("clock", `commissioner clock set to ${date.toISOString()}`);
    }

    /** One device from a seeded batch made by `generate` (shared with every scenario asking for the same spec). */
    async device(spec: DeviceSpec = {}): Promise<Device> {
        const t0 = performance.now();
        const b = await this.resources.batchDevice(this.seed, spec);
        const dev = await this.#load(b.files, b.label);
        this.context.step("generate", `device ${dev.id} from a seeded batch (${JSON.stringify(spec)}, ${this.resources.iterationCount} PBKDF2 iterations)`, performance.now() - t0);
        return dev;
    }

    /** A device from an esp-matter-mfg-tool / mfgsim output directory (<uuid>/ with <uuid>-partition.bin). */
    async fromMfgTool(dir: string): Promise<Device> {
        const files = deviceInDir(resolve(dir));
        if (!files) throw new DiagnosticError("ESP_ERR_NOT_FOUND", "no <uuid>-partition.bin in the directory", { file: dir });
        const label = files.onboardingCodes ? await readOnboardingCsv(files.onboardingCodes) : {};
        const dev = await this.#load(files, label);
        this.context.step("load", `device ${dev.id} from ${dir}`);
        return dev;
    }

    /** A device from a full flash dump (`esptool read_flash 0 ALL`): the factory, nvs_keys and esp_secure_cert partitions are read out of it. */
    async fromFlash(image: Uint8Array | string, o: { efuses?: Efuses | object | string; label?: Label; factoryLabel?: string } = {}): Promise<Device> {
        const bytes = typeof image === "string" ? new Uint8Array(await readFile(image)) : image;
        const chip = VirtualEsp32.fromImage(bytes, o.efuses !== undefined ? { efuses: o.efuses } : {});
        const boot = bootChip(chip);
        const table = boot.partitions;
        const label = o.factoryLabel ?? "fctry";
        const fctry = table.find(p => p.name === label && p.type === PartitionType.DATA);
        if (!fctry) throw new DiagnosticError("ESP_ERR_NVS_PART_NOT_FOUND", `no partition labelled ${label} in the dump's partition table`, { field: label });
        const keysPart = table.find(p => p.type === PartitionType.DATA && p.subtype === DataSubtype.NVS_KEYS);
        const sc = table.find(p => p.type === ESP_SECURE_CERT_TYPE);
        const keys = keysPart ? chip.flashRead(keysPart.offset, 4096) : undefined;
        const secure = sc ? chip.flashRead(sc.offset, sc.size) : undefined;
        const dev = new Device(this.context, "flash-dump", {
            factory: chip.flashRead(fctry.offset, fctry.size),
            ...(keys && !keys.subarray(0, 68).every(b => b === 0xff) ? { nvsKeys: keys } : {}),
            ...(secure && !secure.subarray(0, 4).every(b => b === 0xff) ? { secureCert: secure } : {}),
            label: o.label ?? {},
        });
        this.#devices.push(dev);
        this.context.step("load", `device from a ${bytes.length}-byte flash dump`);
        return dev;
    }

    async #load(files: NonNullable<ReturnType<typeof deviceInDir>>, label: Label): Promise<Device> {
        const read = async (f: string | undefined) => (f ? new Uint8Array(await readFile(f)) : undefined);
        const factory = (await read(files.partition))!;
        const nvsKeys = await read(files.keysPartition);
        const secureCert = await read(files.secureCert);
        const dev = new Device(this.context, files.id, { factory, ...(nvsKeys ? { nvsKeys } : {}), ...(secureCert ? { secureCert } : {}), label });
        this.#devices.push(dev);
        return dev;
    }

    /** Powers off every device of the scenario. */
    async close(): Promise<void> {
        await Promise.all(this.#devices.map(d => d.stop().catch(() => undefined)));
    }
}
