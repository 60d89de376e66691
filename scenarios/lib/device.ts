/**
 * One device of a scenario: its factory partition, nvs_keys and esp_secure_cert partitions and its label, the
 * changes a scenario makes to them, and what happens when the virtual ESP32 boots them and a strict
 * commissioner meets the result.
 */
import { createHash } from "node:crypto";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { buildAppImage } from "../../emulator/bootloader_support/index.js";
import { Efuses } from "../../emulator/efuse/index.js";
import {
    bootChip, buildFlashImage, ESP_MATTER_PARTITIONS_CSV, startFirmware, VirtualEsp32, type BootDecision, type ChipName, type FirmwareResult,
} from "../../emulator/esp32/index.js";
import { readFactoryData, type FactoryRead } from "../../emulator/esp_matter/factory_data_provider.js";
import { DataSubtype, PartitionType } from "../../emulator/esp_partition/index.js";
import { decodeNvsKeys, encodeNvsKeys, mountNvs } from "../../emulator/nvs/index.js";
import type { DeviceFactoryData, RunningDevice } from "../../emulator/device/index.js";
import type { AttestationInput, BasicInformationSnapshot, CommissionStep } from "../../harness/commissioner/index.js";
import { strictAttestationHook } from "../../harness/gate/gate.js";
import { generateOnboardingCodes, parseOnboardingCode } from "../../harness/onboarding/index.js";
import {
    createCertificationDeclaration, issueCertificate, keyFromScalar, parseCertificate, parseCertificationDeclaration, skidOf, type CertificationElements,
    type IssueOptions, type TrustStore,
} from "../../harness/pki/index.js";
import { performOta, readOtaImageFile, VirtualOtaDevice } from "../../harness/ota/index.js";
import { FactoryPartition } from "./factory.js";
import { buildOtaFile, UpdateOutcome, type OtaImageOptions, type UpdateOptions } from "./update.js";
import type { LineContext } from "./line.js";
import { StepOutcome, ReadOutcome } from "./outcome.js";
import type { NetworkFaults } from "../../emulator/device/network.js";

/** A 32-bit PRNG seed from the run's seed text (FNV-1a). */
function seedNumber(seed: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
    return h;
}

/** What the label printed on the box says (onb_codes.csv). */
export interface Label {
    qrCode?: string;
    manualCode?: string;
    passcode?: number;
    discriminator?: number;
}

/** How the firmware was built and the chip set up for a boot. */
export interface BootOptions {
    /** CONFIG_NVS_ENCRYPTION: true/false, or "auto" (on when nvs_keys holds keys). Default "auto". A device built with it and a blank nvs_keys generates keys at first boot (nvs_flash_generate_keys). */
    nvsEncryption?: boolean | "auto";
    /** Flash encryption on (eFuse key + SPI_BOOT_CRYPT_CNT) and the flash written with `esptool --encrypt`. */
    flashEncryption?: boolean;
    /** With flash encryption: the nvs_keys partition was written without --encrypt (esp-idf#9287). */
    nvsKeysPlaintext?: boolean;
    /** CONFIG_SEC_CERT_DAC_PROVIDER: where the firmware reads DAC/PAI/key. Default "nvs". */
    dacProvider?: "nvs" | "secure-cert";
    /** Where discriminator/verifier come from. Default "nvs". */
    commissionableDataProvider?: "nvs" | "secure-cert";
    /** The partition table (gen_esp32part CSV). Default esp-matter's (fctry at 0x3E0000). */
    partitions?: string;
    /** CONFIG_CHIP_FACTORY_NAMESPACE_PARTITION_LABEL. Default "fctry". */
    factoryLabel?: string;
    /** The factory image was written at this flash address instead of into its partition (esp-matter#443, #1054). */
    factoryAt?: number;
    chip?: ChipName;
    /** The app's Matter software version (default 1). */
    softwareVersion?: number;
    /** Change eFuses after the flash is written (before the boot). */
    efuses?: (efuses: Efuses) => void;
    /** Change the flash image bytes before the boot (power-on state of the flash). */
    tamper?: (image: Uint8Array) => void;
    /** Start the Matter device (default true); false: read and validate the factory data only. */
    start?: boolean;
    /**
     * A bad network on the device's side of the loopback path: lost, duplicated or delayed datagrams (probabilities
     * 0..1, delay in ms). Seeded from the run's seed unless `seed` is given; `stats` counts what happened.
     */
    network?: NetworkFaults;
}

export class BootOutcome extends StepOutcome {
    constructor(
        result: FirmwareResult,
        readonly trace: readonly BootDecision[],
        readonly chip: VirtualEsp32,
        /** Each flash region written (for `diagnose`-style reports). */
        readonly image: Uint8Array,
        readonly efuses: Efuses,
    ) {
        super("boot", result.ok, result.log, result.error, [], result.ok ? (result.port ? `Matter on 127.0.0.1:${result.port}` : "factory data valid") : undefined);
        this.reads = result.reads;
        this.device = result.device;
        this.port = result.port;
        this.factoryData = result.factoryData;
    }
    readonly reads: readonly FactoryRead[];
    readonly device: RunningDevice | undefined;
    readonly port: number | undefined;
    readonly factoryData: Partial<DeviceFactoryData> | undefined;
}

export interface CommissionOptions {
    /** Boot first with these options (when the device is not running). */
    boot?: BootOptions;
    /** The passcode typed in / scanned (default: the label's). */
    passcode?: number;
    /** Trust anchors: "line" (the line's PAA and CD signer, default), "empty" (no PAA at all) or a TrustStore. */
    trust?: "line" | "empty" | TrustStore;
    /** Accept CDs signed by a test key (default true: the line's CD signer is a test signer). */
    allowTestKeys?: boolean;
    /** The commissioner's clock (default: the line's clock). */
    at?: Date;
}

export class CommissionOutcome extends StepOutcome {
    constructor(
        ok: boolean,
        log: string[],
        error: { code: string; message: string } | undefined,
        readonly steps: readonly CommissionStep[],
        readonly basicInformation: BasicInformationSnapshot | undefined,
        /** What the device sent for attestation (undefined when PASE did not get that far). */
        readonly attestation: AttestationInput | undefined,
        readonly failedStep: string | undefined,
        extraNames: string[] = [],
    ) {
        super("commission", ok, log, error, extraNames, ok ? "commissioned, Basic Information read over CASE" : undefined);
    }
}

const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");

export class Device {
    readonly factory: FactoryPartition;
    nvsKeys: Uint8Array | undefined;
    secureCert: Uint8Array | undefined;
    label: Label;
    #running: BootOutcome | undefined;
    /** Powered with the OTA requestor and commissioned by the line's OTA provider (dev.update). */
    #ota: { dev: VirtualOtaDevice; nodeId: bigint; chip: ChipName; softwareVersion: number } | undefined;
    #counter = 0;

    constructor(
        private readonly line: LineContext,
        readonly id: string,
        parts: { factory: Uint8Array; nvsKeys?: Uint8Array; secureCert?: Uint8Array; label: Label },
    ) {
        this.factory = new FactoryPartition(parts.factory, parts.nvsKeys);
        this.nvsKeys = parts.nvsKeys ? Uint8Array.from(parts.nvsKeys) : undefined;
        this.secureCert = parts.secureCert ? Uint8Array.from(parts.secureCert) : undefined;
        this.label = { ...parts.label };
    }

    #bytes(label: string, n: number): Uint8Array {
        return new Uint8Array(createHash("sha256").update(`${this.line.seed}/${this.id}/${label}/${this.#counter++}`).digest()).slice(0, n);
    }

    /** The DAC private key as the factory wrote it (NVS dac-key or esp_secure_cert). */
    #dacKey() {
        const r = readFactoryData({ nvs: this.factory.bytes, ...(this.factory.keys ? { nvsKeys: this.factory.keys } : {}), ...(this.secureCert ? { secureCert: this.secureCert } : {}), dacProvider: this.factory.has("dac-key") ? "nvs" : "secure-cert" });
        if (!r.data.dacKey) throw new DiagnosticError("ESP_ERR_NVS_NOT_FOUND", "no DAC key in the factory data", { field: "dac-key" });
        return keyFromScalar(r.data.dacKey);
    }

    // ---- changes -------------------------------------------------------------------------------------------

    /** Fresh nvs_keys (what `nvs_partition_gen generate-key` run again gives); the factory image keeps the old ones (esp-idf#5747). */
    regenerateNvsKeys(): this {
        this.nvsKeys = encodeNvsKeys({ eky: this.#bytes("eky", 32), tky: this.#bytes("tky", 32) });
        this.line.step("change", `nvs_keys regenerated (the factory partition stays encrypted with the old keys)`);
        return this;
    }

    /** The keys-partition.bin is left behind: the chip's nvs_keys partition stays blank, the factory partition stays encrypted. */
    withoutNvsKeys(): this {
        this.nvsKeys = undefined;
        this.line.step("change", "nvs_keys partition not flashed (blank on the chip); the factory partition stays encrypted");
        return this;
    }

    /** A new label: QR and manual code rebuilt from the given passcode / discriminator. */
    relabel(o: { passcode?: number; discriminator?: number }): this {
        const vendorId = Number(this.factory.get("vendor-id"));
        const productId = Number(this.factory.get("product-id"));
        const passcode = o.passcode ?? this.label.passcode!;
        const discriminator = o.discriminator ?? this.label.discriminator ?? Number(this.factory.get("discriminator"));
        const codes = generateOnboardingCodes({ vendorId, productId, passcode, discriminator, discoveryCapabilities: 4 });
        this.label = { ...codes, passcode, discriminator };
        this.line.step("change", `label reprinted: ${codes.manualCode}`);
        return this;
    }

    /**
     * Re-issues the DAC (same key, so the attestation signature still verifies) under the line's PAI, or under
     * `pai` when given: validity, VID/PID or a profile-breaking override (harness/pki IssueOptions).
     */
    reissueDac(o: Pick<IssueOptions, "notBefore" | "notAfter" | "vid" | "pid" | "overrides" | "commonName"> & { pai?: ReturnType<typeof issueCertificate> } = {}): this {
        const pki = this.line.pki;
        const issuer = o.pai ?? pki.pai;
        const dac = parseCertificate(this.factory.get("dac-cert") as Uint8Array);
        const dacCert = issueCertificate({
            kind: "DAC", key: this.#dacKey(), issuer: { cert: issuer.cert, key: issuer.key },
            vid: o.vid ?? pki.vid, pid: o.pid ?? Number(this.factory.get("product-id") ?? pki.pid),
            notBefore: o.notBefore ?? dac.notBefore, notAfter: o.notAfter ?? dac.notAfter,
            commonName: o.commonName ?? "mfgsim scenario DAC", ...(o.overrides ? { overrides: o.overrides } : {}),
        });
        this.#setCert("dac-cert", dacCert.der);
        if (o.pai) this.#setCert("pai-cert", o.pai.der);
        this.line.step("change", `DAC re-issued${o.notAfter ? ` (notAfter ${o.notAfter.toISOString()})` : ""}${o.pai ? " under a new PAI" : ""}`);
        return this;
    }

    /** A PAI with the line PAI's key and other validity/profile, signed by the line's PAA (pass it to reissueDac). */
    issuePai(o: Pick<IssueOptions, "notBefore" | "notAfter" | "vid" | "pid" | "overrides"> = {}): ReturnType<typeof issueCertificate> {
        const pki = this.line.pki;
        return issueCertificate({
            kind: "PAI", key: pki.pai.key, issuer: { cert: pki.paa.cert, key: pki.paa.key }, vid: o.vid ?? pki.vid,
            ...(o.pid !== undefined ? { pid: o.pid } : {}), notBefore: o.notBefore ?? pki.pai.cert.notBefore, notAfter: o.notAfter ?? pki.pai.cert.notAfter,
            commonName: "mfgsim scenario PAI", ...(o.overrides ? { overrides: o.overrides } : {}),
        });
    }

    #setCert(key: "dac-cert" | "pai-cert", der: Uint8Array) {
        if (this.factory.has(key)) this.factory.set(key, der);
        else throw new DiagnosticError("ESP_ERR_NOT_SUPPORTED", `${key} is not in the factory NVS partition (DAC in esp_secure_cert): re-issuing there is not supported`, { field: key });
    }

    /** A new Certification Declaration (fields changed from the line's), signed by the line's CD signer. */
    replaceCd(changes: Partial<CertificationElements>): this {
        const pki = this.line.pki;
        const cd = createCertificationDeclaration({ ...pki.cdContent, ...changes }, { key: pki.cdSigner.key, skid: skidOf(pki.cdSigner.cert)! }, true);
        this.factory.set("cert-dclrn", cd);
        this.line.step("change", `CD replaced: ${Object.entries(changes).map(([k, v]) => `${k}=${typeof v === "number" ? `0x${hex4(v)}` : JSON.stringify(v)}`).join(", ")}`);
        return this;
    }

    // ---- observations --------------------------------------------------------------------------------------

    /** Reads one chip-factory key the way the device does (nvs_get_*; through NVS encryption when the device has keys). */
    read(key: string, o: { nvsEncryption?: boolean } = {}): ReadOutcome {
        try {
            const useKeys = o.nvsEncryption ?? this.nvsKeys !== undefined;
            const keys = useKeys && this.nvsKeys ? decodeNvsKeys(this.nvsKeys) : undefined;
            const nvs = mountNvs(this.factory.bytes, { readOnly: true, ...(keys ? { keys } : {}) });
            const entry = nvs.entries().find(e => e.namespace === "chip-factory" && e.key === key);
            if (!entry) throw new DiagnosticError("ESP_ERR_NVS_NOT_FOUND", `chip-factory/${key} is not stored`, { field: key });
            const out = new ReadOutcome(key, true, entry.value);
            this.line.step(`read ${key}`, out.describe());
            return out;
        } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
            const out = new ReadOutcome(key, false, undefined, { code: e.code, message: e.message });
            this.line.step(`read ${key}`, out.describe());
            return out;
        }
    }

    /** nvs_flash_init_partition on the factory image alone: read-only (the default) or read-write. */
    mount(o: { readOnly?: boolean } = {}): StepOutcome {
        try {
            const keys = this.nvsKeys ? decodeNvsKeys(this.nvsKeys) : undefined;
            const nvs = mountNvs(this.factory.bytes, { readOnly: o.readOnly ?? true, ...(keys ? { keys } : {}) });
            const out = new StepOutcome("mount", true, [], undefined, [], `${nvs.pages().length} pages, ${o.readOnly === false ? "read-write" : "read-only"}`);
            this.line.step("mount", out.describe());
            return out;
        } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
            const out = new StepOutcome("mount", false, [], { code: e.code, message: e.message });
            this.line.step("mount", out.describe());
            return out;
        }
    }

    // ---- the flash, the boot, the commissioner ---------------------------------------------------------------

    /**
     * The full flash image (and eFuses) for these boot options, as a dump taken after the first boot reads: with
     * `nvsEncryption: true` and no nvs_keys flashed, the keys the firmware generated are in it.
     */
    flash(o: BootOptions = {}): { image: Uint8Array; efuses: Efuses; chip: ChipName; nvsEncryption: boolean | "auto" } {
        return this.#flash(o, true);
    }

    /** `firstBootDone`: false leaves a blank nvs_keys blank, for the firmware to generate its keys at boot. */
    #flash(o: BootOptions, firstBootDone: boolean): { image: Uint8Array; efuses: Efuses; chip: ChipName; nvsEncryption: boolean | "auto" } {
        const chip = o.chip ?? "esp32c3";
        const partitions = o.partitions ?? ESP_MATTER_PARTITIONS_CSV;
        const app = buildAppImage({ chip, version: `${o.softwareVersion ?? 1}.0`, projectName: "light", matterSoftwareVersion: o.softwareVersion ?? 1 });
        const efuses = new Efuses(chip);
        let nvsKeys = this.nvsKeys;
        let nvsEncryption = o.nvsEncryption ?? "auto";
        if (nvsEncryption === true && !nvsKeys && firstBootDone) {
            // what the first boot of a CONFIG_NVS_ENCRYPTION build with a blank nvs_keys wrote: nvs_flash_generate_keys()
            nvsKeys = encodeNvsKeys({ eky: this.#bytes("gen-eky", 32), tky: this.#bytes("gen-tky", 32) });
        }
        const built = buildFlashImage({
            chip, partitions, app,
            ...(o.factoryAt === undefined ? { fctry: this.factory.bytes, fctryLabel: o.factoryLabel ?? "fctry" } : {}),
            ...(nvsKeys ? { nvsKeys } : {}),
            ...(this.secureCert ? { secureCert: this.secureCert } : {}),
            encrypt: o.flashEncryption ?? false,
            efuses,
            randomKey: n => this.#bytes("flash-key", n),
        });
        const image = built.image;
        if (o.factoryAt !== undefined) image.set(this.factory.bytes, o.factoryAt);
        if (o.flashEncryption && o.nvsKeysPlaintext && nvsKeys) {
            const part = built.partitions.find(p => p.type === PartitionType.DATA && p.subtype === DataSubtype.NVS_KEYS)!;
            image.fill(0xff, part.offset, part.offset + part.size);
            image.set(nvsKeys, part.offset);
        }
        o.efuses?.(efuses);
        o.tamper?.(image);
        return { image, efuses, chip, nvsEncryption };
    }

    /** Powers the virtual ESP32 on: bootloader, app, factory data provider, Matter on loopback. */
    async boot(o: BootOptions = {}): Promise<BootOutcome> {
        await this.stop();
        const t0 = performance.now();
        const { image, efuses, chip: chipName, nvsEncryption } = this.#flash(o, false);
        const chip = VirtualEsp32.fromImage(image, { chip: chipName, efuses });
        const boot = bootChip(chip);
        const fw = await startFirmware(chip, boot, {
            ...(o.factoryLabel ? { factoryPartitionLabel: o.factoryLabel } : {}),
            nvsEncryption: o.nvsEncryption === undefined ? nvsEncryption : o.nvsEncryption,
            dacProvider: o.dacProvider ?? "nvs",
            commissionableDataProvider: o.commissionableDataProvider ?? "nvs",
            randomBytes: n => this.#bytes("chip-rng", n), // the keys a blank nvs_keys gets at boot, reproducible from the run's seed
            port: 0,
            startDevice: o.start ?? true,
            ...(o.network ? { networkFaults: Object.assign(o.network, { seed: o.network.seed ?? seedNumber(this.line.seed) }) } : {}),
        });
        const out = new BootOutcome(fw, boot.trace, chip, image, efuses);
        if (out.device) this.#running = out;
        this.line.step("boot", out.describe(), performance.now() - t0);
        return out;
    }

    /** Commissions the device with the line's strict commissioner (booting it first when it is not running). */
    async commission(o: CommissionOptions = {}): Promise<CommissionOutcome> {
        const t0 = performance.now();
        const boot = this.#running ?? (await this.boot(o.boot));
        if (!boot.ok || !boot.device) {
            const out = new CommissionOutcome(false, [...boot.log], boot.error ?? { code: "ESP_FAIL", message: "device did not boot" }, [], undefined, undefined, "boot");
            this.line.step("commission", out.describe(), performance.now() - t0);
            return out;
        }
        const device = boot.device;
        const commissioner = await this.line.commissioner();
        const trust = this.trustStore(o.trust);
        const address = { ip: "127.0.0.1", port: device.port };
        commissioner.registry.setCommissionable(address, device.advertisement);
        let captured: AttestationInput | undefined;
        const at = o.at ?? this.line.clock();
        const strict = strictAttestationHook(trust, { allowTestKeys: o.allowTestKeys ?? true, now: () => at });
        const passcode = o.passcode ?? this.label.passcode;
        if (passcode === undefined) throw new DiagnosticError("CHIP_ERROR_KEY_NOT_FOUND", "the device has no label passcode; pass { passcode }", { field: "passcode" });
        const r = await commissioner.commission({
            address, passcode, ...(this.label.discriminator !== undefined ? { discriminator: this.label.discriminator } : {}),
            attestation: async input => {
                captured = input;
                return strict(input);
            },
        });
        if (r.nodeId !== undefined) await commissioner.disconnect(r.nodeId).catch(() => undefined);
        const log = r.steps.map(s => `${s.name}: ${s.status} ${s.detail}`);
        const error = r.ok ? undefined : { code: r.error ?? "CHIP_ERROR_INTERNAL", message: r.message ?? `${r.failedStep ?? "commissioning"} failed` };
        const out = new CommissionOutcome(r.ok, log, error, r.steps, r.basicInformation, captured, r.failedStep);
        this.line.step("commission", out.describe(), performance.now() - t0);
        return out;
    }

    /** The commissioner's trust anchors for `trust` ("line": the line's PAA and CD signer; "empty": no PAA). */
    trustStore(trust: CommissionOptions["trust"] = "line"): TrustStore {
        if (trust === "empty") return { ...this.line.pki.trustStore(), paas: [] };
        return trust === "line" ? this.line.pki.trustStore() : trust;
    }

    /** Certification pre-testing: commissions the device and checks TC-DA-1.x expectations as a checklist. */
    async certify(o: CommissionOptions = {}): Promise<import("./certification.js").CertificationOutcome> {
        const { certify } = await import("./certification.js");
        const out = await certify(this, o);
        this.line.step("certify", out.describe());
        return out;
    }

    /** The Matter OTA file `dev.update(options)` would build: for this device's VID/PID, the running version + 1. */
    otaImage(o: OtaImageOptions = {}): Uint8Array {
        return buildOtaFile({
            ...o,
            version: o.version ?? (this.#ota ? (this.#ota.dev.softwareVersion ?? this.#ota.softwareVersion) : 1) + 1,
            vendorId: o.vendorId ?? Number(this.factory.get("vendor-id")),
            productId: o.productId ?? Number(this.factory.get("product-id")),
            chip: this.#ota?.chip ?? "esp32c3",
        });
    }

    /**
     * A Matter OTA: `dev.update()` (the next version for this product), `dev.update({ productId: 0x8001 })`,
     * `dev.update(fileOrBytes, { provider: "any" })`, `dev.update({ powerLossAtOp: 2 })`, `dev.update({ selfTest: "fail" })`.
     * The first call powers the device's flash on with the OTA requestor (`boot` options as for `dev.boot`) and lets
     * the line's OTA provider commission it; later calls continue on the same chip. Never throws for a device-side
     * failure: the outcome names it.
     */
    async update(image?: Uint8Array | string | UpdateOptions, options: UpdateOptions & { boot?: BootOptions } = {}): Promise<UpdateOutcome> {
        const o = image !== undefined && !(image instanceof Uint8Array) && typeof image !== "string" ? { ...image, ...options } : options;
        const t0 = performance.now();
        const record = (out: UpdateOutcome) => {
            this.line.step("update", out.describe(), performance.now() - t0);
            return out;
        };
        const provider = await this.line.otaProvider();
        const ready = await this.#otaSession(o.boot ?? {});
        if (!ready.ok) {
            return record(new UpdateOutcome({ status: ready.status, code: ready.code, detail: `${ready.code}: ${ready.message}`, softwareVersionAfter: null, events: [], timings: { totalMs: performance.now() - t0 } }, ready.consoles));
        }
        const { dev, nodeId } = ready;
        const bytes = image instanceof Uint8Array ? image : typeof image === "string" ? await readOtaImageFile(image) : this.otaImage(o);
        provider.clearImages();
        provider.faults = { ...(o.faults ?? {}), serveAnything: o.provider === "any" };
        const consoles0 = dev.consoles.length;
        try {
            await provider.addImages([bytes]);
            const r = await performOta(provider, dev, nodeId, {
                ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
                ...(o.powerLossAtOp !== undefined ? { powerLossAtOp: o.powerLossAtOp } : {}),
                ...(o.powerLossInOtadataAtOp !== undefined ? { powerLossInOtadataAtOp: o.powerLossInOtadataAtOp } : {}),
                ...(o.selfTest === "fail" ? { selfTest: () => false } : {}),
            });
            return record(new UpdateOutcome(r, dev.consoles.slice(consoles0)));
        } finally {
            provider.clearImages();
            provider.faults = {};
        }
    }

    /** The chip powered with the requestor and commissioned by the OTA provider (once per device). */
    async #otaSession(boot: BootOptions): Promise<
        | { ok: true; dev: VirtualOtaDevice; nodeId: bigint }
        | { ok: false; status: "boot-failed" | "commission-failed"; code: string; message: string; consoles: string[][] }
    > {
        if (this.#ota) {
            const { dev, nodeId } = this.#ota;
            if (!dev.running) {
                const fw = await dev.powerOn();
                if (!fw.ok) return { ok: false, status: "boot-failed", code: fw.error?.code ?? "ESP_FAIL", message: fw.error?.message ?? "the device did not start", consoles: [fw.log] };
            }
            return { ok: true, dev, nodeId };
        }
        await this.stop();
        const { image, efuses, chip: chipName, nvsEncryption } = this.flash(boot);
        const chip = VirtualEsp32.fromImage(image, { chip: chipName, efuses });
        const dev = new VirtualOtaDevice({
            chip,
            firmware: {
                ...(boot.factoryLabel ? { factoryPartitionLabel: boot.factoryLabel } : {}),
                nvsEncryption: boot.nvsEncryption === undefined ? nvsEncryption : boot.nvsEncryption,
                dacProvider: boot.dacProvider ?? "nvs",
                commissionableDataProvider: boot.commissionableDataProvider ?? "nvs",
            },
        });
        const fw = await dev.powerOn();
        if (!fw.ok || !dev.port) {
            await dev.powerOff();
            return { ok: false, status: "boot-failed", code: fw.error?.code ?? "ESP_FAIL", message: fw.error?.message ?? "the device did not start", consoles: [fw.log] };
        }
        const passcode = this.label.passcode;
        if (passcode === undefined) throw new DiagnosticError("CHIP_ERROR_KEY_NOT_FOUND", "the device has no label passcode", { field: "passcode" });
        const provider = await this.line.otaProvider();
        const at = this.line.clock();
        try {
            const nodeId = await provider.commission({
                address: { ip: "127.0.0.1", port: dev.port }, passcode,
                attestation: strictAttestationHook(this.trustStore("line"), { allowTestKeys: true, now: () => at }),
            });
            this.#ota = { dev, nodeId, chip: chipName, softwareVersion: boot.softwareVersion ?? 1 };
            return { ok: true, dev, nodeId };
        } catch (e) {
            await dev.powerOff();
            const code = e instanceof DiagnosticError ? e.code : "CHIP_ERROR_INTERNAL";
            return { ok: false, status: "commission-failed", code, message: (e as Error).message, consoles: [fw.log] };
        }
    }

    /** The running device (after a successful boot or during `dev.update`). */
    get running(): RunningDevice | undefined {
        return this.#running?.device ?? this.#ota?.dev.running;
    }

    /** Powers the device off (sockets closed). */
    async stop(): Promise<void> {
        const r = this.#running;
        this.#running = undefined;
        await r?.device?.stop();
        const ota = this.#ota;
        this.#ota = undefined;
        await ota?.dev.powerOff();
    }

    /** The label's passcode parsed back from its QR (what a phone would scan). */
    scannedPasscode(): number | undefined {
        const code = this.label.qrCode ?? this.label.manualCode;
        return code ? parseOnboardingCode(code).payloads[0]?.passcode : this.label.passcode;
    }

    /** The CD on the device, decoded. */
    certificationDeclaration(): CertificationElements {
        return parseCertificationDeclaration(this.factory.get("cert-dclrn") as Uint8Array).content;
    }
}
