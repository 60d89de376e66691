import { expect } from "chai";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDemoBatch, type DemoBatch } from "../demo/batch.js";
import { runBatch } from "../mfg_tool/batch.js";
import { buildConfig } from "../mfg_tool/cli.js";
import { createTestPki } from "../pki/index.js";
import { runCli } from "../cli/testing.js";
import { discoverDevices, runGate, shardSlice } from "./index.js";
import { buildAppImage } from "../../emulator/bootloader_support/index.js";
import { createOtaImage } from "../../emulator/ota_image/index.js";

const first = <T>(xs: T[]): T => xs[0]!;

describe("gate (real UDP on loopback)", function () {
    this.timeout(120_000);
    let dir: string;
    let demo: DemoBatch;

    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "mfgsim-gate-"));
        demo = await makeDemoBatch({ dir, count: 3, iterationCount: 1000, encrypt: true, seed: "gate-test" });
    });
    after(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    it("passes every device of a good batch: partition, factory data, label, boot, PASE, attestation, CD, NOC, CASE, Basic Information", async () => {
        const result = await runGate([demo.outdir], { paaStore: demo.paaStore, cdSigners: demo.cdSigners, allowTestKeys: true, jobs: 2 });
        expect(result.summary).to.deep.equal({ total: 3, passed: 3, failed: 0 });
        const names = result.devices[0]!.checks.map(c => c.name);
        expect(names).to.include.members(["nvs.mount", "factory.read", "onboarding", "boot", "pase", "attestation", "cd", "noc", "case", "basic-information"]);
        for (const d of result.devices) {
            expect(d.checks.filter(c => c.status !== "pass"), JSON.stringify(d.checks)).to.deep.equal([]);
            expect(d.vendorId).to.equal(0xfff1);
            expect(d.serialNumber).to.be.a("string").and.not.equal("");
        }
    });

    it("fails attestation with PaaNotFound when the commissioner does not trust the batch's PAA", async () => {
        const other = createTestPki({ vid: 0xfff1, pid: 0x8000 });
        const store = join(dir, "other-paa");
        await mkdir(store, { recursive: true });
        await writeFile(join(store, "PAA.pem"), other.paa.pem);
        const [first] = discoverDevices([demo.outdir]);
        const result = await runGate([first!.dir], { paaStore: store, cdSigners: demo.cdSigners, allowTestKeys: true });
        const check = result.devices[0]!.checks.find(c => c.name === "attestation")!;
        expect(check.status).to.equal("fail");
        expect(check.detail).to.match(/^PaaNotFound/);
        expect(result.devices[0]!.checks.find(c => c.name === "noc")!.status).to.not.equal("pass");
    });

    it("--ota: after the checks pass, the device takes the image (ota check, softwareVersionAfterOta 2); NVS-encrypted device", async () => {
        const app = buildAppImage({ chip: "esp32c3", version: "2.0", matterSoftwareVersion: 2, size: 32 * 1024 });
        const file = join(dir, "v2.ota");
        await writeFile(file, createOtaImage({ vendorId: 0xfff1, productId: 0x8000, softwareVersion: 2, softwareVersionString: "2.0", digestAlgorithm: "sha256" }, app).image);
        const [first] = discoverDevices([demo.outdir]);
        const result = await runGate([first!.dir], { paaStore: demo.paaStore, cdSigners: demo.cdSigners, allowTestKeys: true, ota: file });
        const d = result.devices[0]!;
        const ota = d.checks.find(c => c.name === "ota")!;
        expect(ota.status, ota.detail).to.equal("pass");
        expect(ota.detail).to.match(/SoftwareVersion 1 → 2 in ota_1/);
        expect([d.status, d.softwareVersion, d.softwareVersionAfterOta]).to.deep.equal(["pass", 1, 2]);
    });

    it("refuses the test-signed CD unless test keys are allowed", async () => {
        const [first] = discoverDevices([demo.outdir]);
        const result = await runGate([first!.dir], { paaStore: demo.paaStore, cdSigners: demo.cdSigners, allowTestKeys: false });
        const cd = result.devices[0]!.checks.find(c => c.name === "cd")!;
        expect(cd.status, JSON.stringify(result.devices[0]!.checks)).to.equal("fail");
        // the verdict's name and code once, then the reason
        expect(cd.detail).to.match(/^CertificationDeclarationNoCertificateFound \(601\): CD is signed by a test key/);
        expect(cd.detail.match(/CertificationDeclarationNoCertificateFound/g)).to.have.length(1);
    });

    it("reports a wrong partition (another device's keys partition) as ESP_ERR_NVS_NOT_FOUND at factory.read", async () => {
        const [a, b] = discoverDevices([demo.outdir]);
        const dev = join(dir, "swapped", a!.id);
        await cp(a!.dir, dev, { recursive: true });
        await cp(b!.keysPartition!, join(dev, `${a!.id}-keys-partition.bin`));
        const result = await runGate([dev], { paaStore: demo.paaStore, allowTestKeys: true });
        const failed = result.devices[0]!.checks.find(c => c.status === "fail")!;
        expect(failed.name).to.equal("nvs.mount");
        expect(failed.detail).to.match(/ESP_ERR_NVS_NOT_FOUND/);
    });

    it("boots the product's own app image (--firmware): Basic Information reports its SoftwareVersion; the result carries the label and the console", async () => {
        const [first] = discoverDevices([demo.outdir]);
        const appImage = buildAppImage({ chip: "esp32c3", version: "7.0-rc1", matterSoftwareVersion: 7, projectName: "my-light" });
        const result = await runGate([first!.dir], { paaStore: demo.paaStore, cdSigners: demo.cdSigners, allowTestKeys: true, appImage });
        const d = result.devices[0]!;
        expect(d.status, JSON.stringify(d.checks)).to.equal("pass");
        expect(d.softwareVersion).to.equal(7);
        expect(d.checks.find(c => c.name === "basic-information")!.detail).to.match(/match/);
        expect(d.qrCode).to.equal(first!.manifest!.qrCode);
        expect(d.bootLog!.join("\n")).to.match(/I \(\d+\) boot: Loaded app from partition at offset 0x20000/).and.to.contain("7.0-rc1");
    });

    it("commissions from the QR label image alone when onb_codes.csv is missing (decoded with a real QR decoder)", async () => {
        const [first] = discoverDevices([demo.outdir]);
        const dev = join(dir, "label-only", first!.id);
        await cp(first!.dir, dev, { recursive: true });
        await rm(join(dev, `${first!.id}-onb_codes.csv`));
        const result = await runGate([dev], { paaStore: demo.paaStore, cdSigners: demo.cdSigners, allowTestKeys: true });
        const d = result.devices[0]!;
        expect(d.status, JSON.stringify(d.checks)).to.equal("pass");
        expect(d.qrCode).to.equal(first!.manifest!.qrCode);
    });

    for (const commissionableDataInSecureCert of [false, true]) {
        const what = commissionableDataInSecureCert ? "DAC and commissionable data" : "DAC";
        it(`a minimal mfg_tool batch (only -v/-p/--pai/-c/-k/-cd, ${what} in esp_secure_cert) boots with the CHIP defaults and gates PASS`, async () => {
            const pki = join(dir, "pki");
            const outdir = join(dir, `minimal-${commissionableDataInSecureCert}`);
            const config = buildConfig({
                count: 1, vendorId: 0xfff1, productId: 0x8000, pai: true, cert: join(pki, "PAI.pem"), key: join(pki, "PAI-key.pem"),
                certDclrn: join(pki, "CD.der"), dacInSecureCert: true, commissionableDataInSecureCert, iterationCount: 1000, outdir, seed: "minimal",
            });
            await runBatch(config, { cwd: dir });
            const result = await runGate([outdir], { paaStore: demo.paaStore, cdSigners: demo.cdSigners, allowTestKeys: true });
            const d = result.devices[0]!;
            expect(d.status, JSON.stringify(d.checks)).to.equal("pass");
            expect(d.bootLog!.join("\n")).to.not.contain("Product Name"); // no product-name key: the device uses TEST_PRODUCT
        });
    }

    it("shards are disjoint and cover the batch", () => {
        const all = discoverDevices([demo.outdir]);
        const parts = [1, 2].map(k => shardSlice(all, { k, n: 2 }).map(d => d.id));
        expect([...parts[0]!, ...parts[1]!].sort()).to.deep.equal(all.map(d => d.id).sort());
        expect(parts[0]!.filter(id => parts[1]!.includes(id))).to.deep.equal([]);
    });

    it("CLI: gate --json F --junit F writes the reports, exit 0; a missing directory exits 2 with one line", async () => {
        const [first] = discoverDevices([demo.outdir]);
        const json = join(dir, "r.json");
        const junit = join(dir, "r.xml");
        const ok = await runCli(["gate", first!.dir, "--paa-store", demo.paaStore, "--cd-signers", demo.cdSigners, "--allow-test-keys", "--json", json, "--junit", junit]);
        expect(ok.code, ok.stderr).to.equal(0);
        expect(JSON.parse(await readFile(json, "utf8")).summary).to.deep.equal({ total: 1, passed: 1, failed: 0 });
        expect(await readFile(junit, "utf8")).to.contain('<testcase classname="' + first!.id + '" name="attestation"');
        const bad = await runCli(["gate", join(dir, "nope"), "--paa-store", demo.paaStore]);
        expect(bad.code).to.equal(2);
        expect(bad.stderr.trim().split("\n")).to.have.length(1);
        expect(bad.stderr).to.contain("ENOENT");
    });

    it("stopped after the first device (jobs 1): the rest fail an `interrupted` check, the run is marked interrupted", async () => {
        const stop = new AbortController();
        const result = await runGate([demo.outdir], {
            paaStore: demo.paaStore, cdSigners: demo.cdSigners, allowTestKeys: true, jobs: 1, signal: stop.signal,
            onDevice: () => stop.abort(),
        });
        expect(result.interrupted).to.equal(true);
        expect(result.summary).to.deep.equal({ total: 3, passed: 1, failed: 2 });
        const rest = result.devices.filter(d => d.checks.some(c => c.name === "interrupted"));
        expect(rest).to.have.length(2);
        expect(rest.every(d => d.status === "fail" && d.checks.length === 1 && /not checked/.test(d.checks[0]!.detail))).to.equal(true);
    });

    it("stopped in worker threads (jobs 2, 6 devices): devices in progress finish, none is started after, the others fail `interrupted`", async () => {
        const six = await makeDemoBatch({ dir: join(dir, "six"), count: 6, iterationCount: 1000, encrypt: false, seed: "gate-stop" });
        const stop = new AbortController();
        const result = await runGate([six.outdir], {
            paaStore: six.paaStore, cdSigners: six.cdSigners, allowTestKeys: true, jobs: 2, signal: stop.signal,
            onDevice: () => stop.abort(),
        });
        const interrupted = result.devices.filter(d => d.checks.some(c => c.name === "interrupted"));
        const checked = result.devices.filter(d => !d.checks.some(c => c.name === "interrupted"));
        expect(result.devices).to.have.length(6);
        expect(checked.length).to.be.within(1, 4); // the first result, and at most one more started per thread
        expect(checked.every(d => d.status === "pass")).to.equal(true);
        expect(interrupted.length).to.equal(6 - checked.length);
        expect(result.interrupted).to.equal(true);
    });

    it("CLI: SIGTERM mid-run (a CI timeout) still writes the JUnit report, the unchecked devices failing, exit 130", async () => {
        const junit = join(dir, "interrupted.xml");
        const r = await runCli(["gate", demo.outdir, "--paa-store", demo.paaStore, "--cd-signers", demo.cdSigners, "--allow-test-keys", "--jobs", "1", "--junit", junit], {
            interruptWhen: (_out, err) => err.includes("[1/3]"),
            interruptSignal: "SIGTERM",
        });
        expect(r.code, r.stderr).to.equal(130);
        expect(r.stderr).to.contain("interrupted: finishing the devices in progress");
        const xml = await readFile(junit, "utf8");
        expect(xml.match(/name="interrupted"/g) ?? []).to.have.length.within(1, 2);
        expect(xml).to.contain("not checked: the run was stopped");
    });

    it("a file instead of a batch directory is ENOTDIR, not ENOENT", () => {
        const file = first(discoverDevices([demo.outdir])).partition;
        expect(() => discoverDevices([file])).to.throw(/not a directory/).with.property("code", "ENOTDIR");
        expect(() => discoverDevices([join(dir, "nope")])).to.throw(/no such directory/).with.property("code", "ENOENT");
    });
});

