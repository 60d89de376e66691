import { expect } from "chai";
import { Logger, LogLevel } from "@matter/main";
import { startDevice, type RunningDevice } from "../../emulator/device/device.js";
import type { DeviceFactoryData } from "../../emulator/device/factory-data.js";
import { MemoryStorageBackend } from "../../emulator/device/storage.js";
import { createTestCd, createTestFactoryData, createTestPki, type TestPki } from "../../emulator/device/testing.js";
import { Commissioner } from "./commissioner.js";
import { OfflineTrustStore } from "./trust.js";
import type { AttestationHook, AttestationInput } from "./types.js";

const firmware = { softwareVersion: 0x10203, softwareVersionString: "1.2.3-test" };
const success: AttestationHook = async () => ({ result: "Success", code: 0, detail: "accepted by test" });

describe("harness/commissioner over real UDP on loopback", function () {
    this.timeout(30000);
    let pki: TestPki;
    let commissioner: Commissioner;
    const devices: RunningDevice[] = [];

    async function boot(fd: DeviceFactoryData, storage = new MemoryStorageBackend()) {
        const dev = await startDevice({ factoryData: fd, firmware, storage });
        devices.push(dev);
        commissioner.registry.setCommissionable({ ip: "127.0.0.1", port: dev.port }, dev.advertisement);
        return dev;
    }

    before(async () => {
        Logger.level = LogLevel.FATAL;
        pki = await createTestPki();
        commissioner = await Commissioner.start();
    });

    after(async () => {
        await Promise.all(devices.map(d => d.stop()));
        await commissioner.close();
    });

    it("commissions end to end; Basic Information read over CASE matches the factory data", async () => {
        const { factoryData: fd, passcode } = await createTestFactoryData(pki, { serialNumber: "SN-E2E-1" });
        const dev = await boot(fd);
        let seen: AttestationInput | undefined;
        const r = await commissioner.commission({
            address: { ip: "127.0.0.1", port: dev.port },
            passcode,
            discriminator: fd.discriminator,
            attestation: async input => ((seen = input), success(input)),
        });
        expect(r.ok, r.message).to.equal(true);
        expect(r.steps.map(s => [s.name, s.status])).to.deep.equal([
            ["pase", "ok"], ["attestation", "ok"], ["noc", "ok"], ["case", "ok"], ["basic-information", "ok"],
        ]);
        expect(r.nocIssued).to.equal(true);
        expect(dev.commissionedFabrics).to.equal(1);
        // The hook saw exactly what the device holds.
        expect(Buffer.from(seen!.dacCert).equals(Buffer.from(fd.dacCert))).to.equal(true);
        expect(Buffer.from(seen!.paiCert).equals(Buffer.from(fd.paiCert))).to.equal(true);
        expect(Buffer.from(seen!.certificationDeclaration).equals(Buffer.from(fd.certDeclaration))).to.equal(true);
        expect([seen!.vendorId, seen!.productId]).to.deep.equal([fd.vendorId, fd.productId]);
        expect(seen!.attestationNonce.length).to.equal(32);
        const bi = r.basicInformation!;
        expect(bi).to.include({
            vendorId: fd.vendorId, productId: fd.productId, vendorName: fd.vendorName, productName: fd.productName,
            serialNumber: "SN-E2E-1", hardwareVersion: fd.hardwareVersion, hardwareVersionString: fd.hardwareVersionString,
            softwareVersion: 0x10203, softwareVersionString: "1.2.3-test", manufacturingDate: fd.manufacturingDate,
            partNumber: fd.partNumber, productLabel: fd.productLabel, productUrl: fd.productUrl, uniqueId: fd.uniqueId,
        });
        expect(bi.productAppearance).to.deep.equal({ finish: fd.productFinish, primaryColor: fd.productColor });
    });

    it("wrong passcode fails fast at PASE with PaseKeyConfirmationFailed", async () => {
        const { factoryData: fd, passcode } = await createTestFactoryData(pki, { passcode: 12345678 });
        const dev = await boot(fd);
        const t = performance.now();
        const r = await commissioner.commission({ address: { ip: "127.0.0.1", port: dev.port }, passcode: passcode + 1, attestation: success });
        const ms = performance.now() - t;
        expect(r.ok).to.equal(false);
        expect(r.failedStep).to.equal("pase");
        expect(r.error).to.equal("PaseKeyConfirmationFailed");
        expect(ms).to.be.lessThan(3000);
        expect(dev.commissionedFabrics).to.equal(0);
    });

    it("an AttestationHook result aborts commissioning with its name; no NOC is issued", async () => {
        const { factoryData: fd, passcode } = await createTestFactoryData(pki);
        const dev = await boot(fd);
        const r = await commissioner.commission({
            address: { ip: "127.0.0.1", port: dev.port },
            passcode,
            attestation: async () => ({ result: "PaaNotFound", code: 101, detail: "no PAA for AKID" }),
        });
        expect(r.ok).to.equal(false);
        expect(r.failedStep).to.equal("attestation");
        expect(r.error).to.equal("PaaNotFound");
        expect(r.message).to.contain("(101)");
        expect(r.nocIssued).to.equal(false);
        expect(r.steps.some(s => s.name === "noc")).to.equal(false);
        expect(dev.commissionedFabrics).to.equal(0);
    });

    it("matter.js error findings are never accepted (CD for another PID), even when the hook says Success", async () => {
        const { factoryData: fd, passcode } = await createTestFactoryData(pki);
        const dev = await boot({ ...fd, certDeclaration: await createTestCd(pki, { productIds: [0x8999] }) });
        const r = await commissioner.commission({ address: { ip: "127.0.0.1", port: dev.port }, passcode, attestation: success });
        expect(r.ok).to.equal(false);
        expect(r.failedStep).to.equal("attestation");
        expect(r.error).to.equal("CertificationDeclarationFieldMismatch");
        expect(dev.commissionedFabrics).to.equal(0);
    });

    it("label discriminator different from the advertised one → DiscriminatorMismatch before PASE", async () => {
        const { factoryData: fd, passcode } = await createTestFactoryData(pki, { discriminator: 0x123 });
        const dev = await boot(fd);
        const r = await commissioner.commission({ address: { ip: "127.0.0.1", port: dev.port }, passcode, discriminator: 0x124, attestation: success });
        expect([r.ok, r.failedStep, r.error]).to.deep.equal([false, "pase", "DiscriminatorMismatch"]);
    });

    it("the fabric survives a device restart on the same storage (CASE reconnect + read); teardown is fast", async () => {
        const { factoryData: fd, passcode } = await createTestFactoryData(pki, { serialNumber: "SN-RESTART" });
        const storage = new MemoryStorageBackend();
        const first = await boot(fd, storage);
        const r = await commissioner.commission({ address: { ip: "127.0.0.1", port: first.port }, passcode, attestation: success });
        expect(r.ok, r.message).to.equal(true);
        await commissioner.disconnect(r.nodeId!);
        let t = performance.now();
        await first.stop();
        const stopMs = performance.now() - t;
        expect(stopMs).to.be.lessThan(500);

        const second = await boot(fd, storage); // new ephemeral port: the registry learns it, no mDNS
        expect(second.commissionedFabrics).to.equal(1);
        commissioner.registry.setOperational(commissioner.fabricId, r.nodeId!, { ip: "127.0.0.1", port: second.port });
        t = performance.now();
        const bi = await commissioner.readBasicInformation(r.nodeId!);
        expect(bi.serialNumber).to.equal("SN-RESTART");
        expect(performance.now() - t).to.be.lessThan(3000);

        // A commissioned device is no longer commissionable with the stored verifier.
        await commissioner.disconnect(r.nodeId!);
        t = performance.now();
        await second.stop();
        expect(performance.now() - t).to.be.lessThan(500);
    });

    it("matter.js's DCL-dependent checks run against an offline trust store (PAA + CD signer), no network", async () => {
        const store = new OfflineTrustStore({ paas: [pki.paaCert], cdSigners: [{ subjectKeyId: pki.cdSignerSkid, publicKey: pki.cdSignerKey.publicKey }] });
        const strict = await Commissioner.start({ trustStore: store });
        try {
            const { factoryData: fd, passcode } = await createTestFactoryData(pki);
            const dev = await boot(fd);
            const r = await strict.commission({ address: { ip: "127.0.0.1", port: dev.port }, passcode, attestation: success, readBasicInformation: false });
            expect(r.ok, r.message).to.equal(true);
            expect(r.acceptedFindings).to.not.include("DclServiceUnavailable");
            // Another PKI's device: matter.js itself finds no PAA.
            const other = await createTestPki();
            const od = await createTestFactoryData(other);
            const dev2 = await boot(od.factoryData);
            const r2 = await strict.commission({ address: { ip: "127.0.0.1", port: dev2.port }, passcode: od.passcode, attestation: success });
            expect([r2.ok, r2.failedStep, r2.error]).to.deep.equal([false, "attestation", "PaaNotTrusted"]);
        } finally {
            const t = performance.now();
            await strict.close();
            expect(performance.now() - t).to.be.lessThan(500);
        }
    });
});
