import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../cli/testing.js";
import { sec1Der, pem } from "./keys.js";
import { createTestPki } from "./testpki.js";

describe("CLI: attest verify / cert inspect / cd inspect", function () {
    this.timeout(60_000);
    let dir: string;
    const pki = createTestPki({ vid: 0xfff1, pid: 0x8000, seed: "cli" });
    const dac = pki.issueDac();
    before(() => {
        dir = mkdtempSync(join(tmpdir(), "mfgsim-attest-"));
        mkdirSync(join(dir, "paa"));
        mkdirSync(join(dir, "signers"));
        writeFileSync(join(dir, "paa", "paa.pem"), pki.paa.pem);
        writeFileSync(join(dir, "signers", "cd-signer.der"), pki.cdSigner.der);
        writeFileSync(join(dir, "pai.der"), pki.pai.der);
        writeFileSync(join(dir, "dac.pem"), dac.pem);
        writeFileSync(join(dir, "dac-key.pem"), pem("EC PRIVATE KEY", sec1Der(dac.key)), { mode: 0o600 });
        writeFileSync(join(dir, "dac-key.bin"), dac.key.privateKey, { mode: 0o600 });
        writeFileSync(join(dir, "cd.der"), pki.cd);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const base = () => ["attest", "verify", "--dac", join(dir, "dac.pem"), "--pai", join(dir, "pai.der"), "--cd", join(dir, "cd.der"), "--paa-store", join(dir, "paa"), "--cd-signers", join(dir, "signers")];

    it("exit 0 and Success with --dac-key (PEM) and --allow-test-keys", async () => {
        const r = await runCli([...base(), "--dac-key", join(dir, "dac-key.pem"), "--allow-test-keys", "--json"]);
        expect(r.code, r.stderr).to.equal(0);
        const j = JSON.parse(r.stdout);
        expect(j).to.include({ result: "Success", code: 0, attestationSignatureChecked: true });
        expect(j.detail).to.be.a("string");
    });

    it("exit 1 with the result name when the test CD signer is not allowed (default strict), raw 32-byte key", async () => {
        const r = await runCli([...base(), "--dac-key", join(dir, "dac-key.bin"), "--json"]);
        expect(r.code).to.equal(1);
        expect(JSON.parse(r.stdout)).to.include({ result: "CertificationDeclarationNoCertificateFound", code: 601 });
        // the console says the name and code once, then the reason
        const text = await runCli([...base(), "--dac-key", join(dir, "dac-key.bin")]);
        expect(text.code).to.equal(1);
        expect(text.stdout).to.match(/^CertificationDeclarationNoCertificateFound \(601\): CD is signed by a test key/);
        expect(text.stdout.match(/CertificationDeclarationNoCertificateFound/g)).to.have.length(1);
    });

    it("exit 1 for a Basic Information PID not in the CD", async () => {
        const r = await runCli([...base(), "--allow-test-keys", "--pid", "0x8001", "--json"]);
        expect(r.code).to.equal(1);
        expect(JSON.parse(r.stdout)).to.include({ result: "CertificationDeclarationInvalidProductId", code: 605 });
    });

    it("exit 2 with one line on stderr for an unreadable input", async () => {
        const r = await runCli(["attest", "verify", "--dac", join(dir, "missing.der"), "--pai", join(dir, "pai.der"), "--cd", join(dir, "cd.der"), "--paa-store", join(dir, "paa"), "--json"]);
        expect(r.code).to.equal(2);
        expect(r.stdout).to.equal("");
        expect(r.stderr.trim().split("\n")).to.have.length(1);
        expect(r.stderr).to.match(/missing\.der.*ENOENT/);
    });

    it("cert inspect and cd inspect print the decoded fields", async () => {
        const c = await runCli(["cert", "inspect", join(dir, "dac.pem"), "--json"]);
        expect(c.code, c.stderr).to.equal(0);
        const j = JSON.parse(c.stdout);
        expect(j.vidPid).to.deep.equal({ vid: "0xFFF1", pid: "0x8000", source: "matter-oid" });
        expect(j.basicConstraints).to.deep.include({ ca: false, critical: true });
        expect(j.keyUsage).to.deep.equal({ usages: ["digitalSignature"], critical: true });
        expect(j.matterProfile).to.deep.equal({ kind: "DAC", ok: true, problem: null });
        const d = await runCli(["cd", "inspect", join(dir, "cd.der"), "--json"]);
        expect(d.code, d.stderr).to.equal(0);
        const k = JSON.parse(d.stdout);
        expect(k).to.include({ vendorId: "0xFFF1", certificateId: "ZIG20141ZB330001-24", certificationType: 0 });
        expect(k.productIds).to.deep.equal(["0x8000"]);
        expect(k.cms).to.include({ digestAlgorithm: "sha256", signatureAlgorithm: "ecdsa-with-SHA256", version: 3, signerVersion: 3 });
        const bad = await runCli(["cd", "inspect", join(dir, "pai.der")]);
        expect(bad.code).to.equal(2);
        expect(bad.stderr.trim().split("\n")).to.have.length(1);
    });
});
