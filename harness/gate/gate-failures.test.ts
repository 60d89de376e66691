/**
 * The gate names the failure a factory would ship (issue: "each of these gates FAIL with the right check and error
 * name"). Each case starts from one good device of a generated, NVS-encrypted batch and plants one defect.
 */
import { expect } from "chai";
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeNvsKeys, generateImage, mountNvs, type NvsItem } from "../../emulator/nvs/index.js";
import type { CheckResult } from "../../reports/result.js";
import { makeDemoBatch, type DemoBatch } from "../demo/batch.js";
import { generateOnboardingCodes } from "../onboarding/index.js";
import { createCertificationDeclaration, skidOf } from "../pki/index.js";
import { ESP_MATTER_PARTITIONS_CSV } from "../../emulator/esp32/index.js";
import { discoverDevices, runGate, type DeviceFiles } from "./index.js";

describe("gate failures (real UDP on loopback)", function () {
    this.timeout(120_000);
    let dir: string;
    let demo: DemoBatch;
    let devices: DeviceFiles[];
    let n = 0;

    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "mfgsim-gate-fail-"));
        demo = await makeDemoBatch({ dir, count: 2, iterationCount: 1000, encrypt: true, seed: "gate-failures" });
        devices = discoverDevices([demo.outdir]);
    });
    after(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    /** A copy of device `i` (its own directory, named like mfg_tool's) to plant a defect in. */
    async function copyOf(i = 0): Promise<DeviceFiles> {
        const src = devices[i]!;
        const dst = join(dir, `case-${n++}`, src.id);
        await cp(src.dir, dst, { recursive: true });
        return discoverDevices([dst])[0]!;
    }

    /** Rewrites a device's chip-factory namespace (decrypted with its keys, re-encrypted with the same keys). */
    async function rewriteFactory(dev: DeviceFiles, mutate: (items: NvsItem[]) => NvsItem[]): Promise<void> {
        const image = new Uint8Array(await readFile(dev.partition));
        const keys = decodeNvsKeys(new Uint8Array(await readFile(dev.keysPartition!)));
        const items: NvsItem[] = [];
        let ns: string | undefined;
        for (const e of mountNvs(image, { keys }).entries()) {
            if (e.namespace !== ns) items.push({ kind: "namespace", name: (ns = e.namespace) });
            if (e.type === "string") items.push({ kind: "string", key: e.key, bytes: new TextEncoder().encode(`${e.value as string}\0`) });
            else if (e.type === "blob") items.push({ kind: "blob", key: e.key, bytes: e.value as Uint8Array });
            else items.push({ kind: "int", key: e.key, type: e.type, value: BigInt(e.value as number | bigint) });
        }
        await writeFile(dev.partition, generateImage(mutate(items), { size: image.length, keys }).image);
    }

    async function gate(dev: DeviceFiles): Promise<CheckResult[]> {
        const result = await runGate([dev.dir], { paaStore: demo.paaStore, cdSigners: demo.cdSigners, allowTestKeys: true });
        expect(result.summary.failed).to.equal(1);
        return result.devices[0]!.checks;
    }

    function firstFailure(checks: CheckResult[]): CheckResult {
        const f = checks.find(c => c.status === "fail");
        expect(f, JSON.stringify(checks)).to.not.equal(undefined);
        return f!;
    }

    const replaceBlob = (items: NvsItem[], key: string, bytes: Uint8Array) =>
        items.map(i => (i.kind === "blob" && i.key === key ? { ...i, bytes } : i));

    it("NVS encrypted but the keys partition is missing: nvs.mount ESP_ERR_NVS_KEYS_NOT_INITIALIZED, naming the missing file", async () => {
        const dev = await copyOf();
        await unlink(dev.keysPartition!);
        const f = firstFailure(await gate(discoverDevices([dev.dir])[0]!));
        expect(f.name).to.equal("nvs.mount");
        expect(f.detail).to.match(/^ESP_ERR_NVS_KEYS_NOT_INITIALIZED: none of the \d+ written entries reads as plaintext: .*keys-partition\.bin/);
    });

    it("DAC of another device (its key does not match): attestation AttestationSignatureInvalid", async () => {
        const dev = await copyOf(0);
        const otherDac = new Uint8Array(await readFile(join(devices[1]!.dir, "internal", "DAC_cert.der")));
        await rewriteFactory(dev, items => replaceBlob(items, "dac-cert", otherDac));
        const checks = await gate(dev);
        const f = firstFailure(checks);
        // the firmware boots (it cannot tell), the commissioner's signature check catches it
        expect(checks.find(c => c.name === "boot")!.status).to.equal("pass");
        expect(f.name).to.equal("attestation");
        expect(f.detail).to.match(/^AttestationSignatureInvalid/);
    });

    it("CD for another vendor: cd CertificationDeclarationInvalidVendorId", async () => {
        const dev = await copyOf();
        const cd = createCertificationDeclaration({ ...demo.pki.cdContent, vendorId: 0xfff2 }, { key: demo.pki.cdSigner.key, skid: skidOf(demo.pki.cdSigner.cert)! });
        await rewriteFactory(dev, items => replaceBlob(items, "cert-dclrn", cd));
        const f = firstFailure(await gate(dev));
        expect(f.name).to.equal("cd");
        expect(f.detail).to.match(/^CertificationDeclarationInvalidVendorId/);
    });

    it("CD for another product: cd CertificationDeclarationInvalidProductId", async () => {
        const dev = await copyOf();
        const cd = createCertificationDeclaration({ ...demo.pki.cdContent, productIds: [0x8001] }, { key: demo.pki.cdSigner.key, skid: skidOf(demo.pki.cdSigner.cert)! });
        await rewriteFactory(dev, items => replaceBlob(items, "cert-dclrn", cd));
        const f = firstFailure(await gate(dev));
        expect(f.name).to.equal("cd");
        expect(f.detail).to.match(/^CertificationDeclarationInvalidProductId/);
    });

    it("Basic Information serial number differs from the manifest: basic-information BasicInformationMismatch", async () => {
        const dev = await copyOf();
        const manifestFile = join(dev.dir, "..", "manifest.json");
        const manifest = JSON.parse(await readFile(join(devices[0]!.dir, "..", "manifest.json"), "utf8"));
        manifest.devices = manifest.devices.filter((d: { id: string }) => d.id === dev.id).map((d: object) => ({ ...d, serial: "SN-PRINTED-ON-BOX" }));
        await writeFile(manifestFile, JSON.stringify(manifest));
        const f = firstFailure(await gate(discoverDevices([dev.dir])[0]!));
        expect(f.name).to.equal("basic-information");
        expect(f.detail).to.match(/^BasicInformationMismatch: .*SerialNumber \(manifest\)/);
    });

    it("wrong passcode on the label: onboarding mismatch, then PASE PaseKeyConfirmationFailed", async () => {
        const dev = await copyOf();
        const csv = (await readFile(dev.onboardingCodes!, "utf8")).trim().split(/\r?\n/);
        const [, , disc, passcode] = csv[1]!.split(",");
        const wrong = Number(passcode) === 20202021 ? 20202022 : 20202021;
        const codes = generateOnboardingCodes({ vendorId: 0xfff1, productId: 0x8000, passcode: wrong, discriminator: Number(disc), discoveryCapabilities: 2 });
        await writeFile(dev.onboardingCodes!, `${csv[0]}\n${codes.qrCode},${codes.manualCode},${disc},${wrong}\n`);
        await unlink(dev.qrPng!);
        const checks = await gate(discoverDevices([dev.dir])[0]!);
        expect(firstFailure(checks).name).to.equal("onboarding");
        expect(firstFailure(checks).detail).to.match(/does not match the device's SPAKE2\+ verifier/);
        const pase = checks.find(c => c.name === "pase")!;
        expect(pase.status).to.equal("fail");
        expect(pase.detail).to.match(/^PaseKeyConfirmationFailed/);
        expect(checks.find(c => c.name === "noc")!.status).to.not.equal("pass");
    });

    it("partition table without the fctry partition the firmware reads: boot ESP_ERR_NVS_PART_NOT_FOUND (esp-matter#443)", async () => {
        const dev = await copyOf();
        const partitionsCsv = ESP_MATTER_PARTITIONS_CSV.replace(/^fctry,/m, "factory_nvs,");
        const result = await runGate([dev.dir], { paaStore: demo.paaStore, cdSigners: demo.cdSigners, allowTestKeys: true, partitionsCsv });
        const f = firstFailure(result.devices[0]!.checks);
        expect(f.name).to.equal("boot");
        expect(f.detail).to.match(/^ESP_ERR_NVS_PART_NOT_FOUND/);
        expect(result.devices[0]!.checks.find(c => c.name === "pase")!.status).to.equal("skip");
    });

    it("no DAC in the partition: the firmware never falls back to matter.js test credentials (ESP_ERR_NVS_NOT_FOUND, not commissioned)", async () => {
        const dev = await copyOf();
        await rewriteFactory(dev, items => items.filter(i => !(i.kind === "blob" && i.key === "dac-cert")));
        const checks = await gate(dev);
        const f = firstFailure(checks);
        expect(f.name).to.equal("factory.read");
        expect(f.detail).to.match(/^ESP_ERR_NVS_NOT_FOUND: reading dac-cert from fctry/);
        for (const name of ["boot", "pase", "attestation", "noc", "case"]) expect(checks.find(c => c.name === name)!.status, name).to.equal("skip");
    });
});
