import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../cli/testing.js";
import { REPO_ROOT } from "../../emulator/testing/vectors.js";
import { decodeQrCode } from "../onboarding/qr.js";
import { pem, pkcs8Der } from "../pki/keys.js";
import { createTestPki } from "../pki/testpki.js";
import { parseCertificate } from "../pki/x509.js";

const dir = mkdtempSync(join(tmpdir(), "mfgsim-gen-cli-"));
const pki = createTestPki({ vid: 0xfff2, pid: 0x8001, seed: "cli" });
const paiPem = join(dir, "pai.pem");
const paiKey = join(dir, "pai-key.pem");
const cd = join(dir, "cd.der");
writeFileSync(paiPem, pki.pai.pem);
writeFileSync(paiKey, pem("PRIVATE KEY", pkcs8Der(pki.pai.key)));
writeFileSync(cd, pki.cd);
const common = ["-v", "0xFFF2", "-p", "0x8001", "--iteration-count", "1000"];

function expectUsageError(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stdout).to.equal("");
    const lines = r.stderr.trim().split("\n").filter(l => !l.startsWith("(add --help"));
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(pattern);
    expect(r.stderr).not.to.match(/\n\s+at /);
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe("mfgsim generate (CLI)", function () {
    this.timeout(60_000);

    it("accepts mfg_tool's flags incl. -cd -lt -vf -cn -dm and prints one JSON document", async () => {
        const out = join(dir, "ok");
        const r = await runCli(
            ["generate", ...common, "-n", "2", "--pai", "-c", paiPem, "-k", paiKey, "-cd", cd, "-lt", "3650", "-vf", "2024-02-03", "-cn", "Acme",
                "-dm", "6", "-cf", "0", "--seed", "s1", "--mfg-date", "2024-06-01", "--locales", "en-US", "de-DE", "-e", "--outdir", out, "--json"],
            { cwd: REPO_ROOT },
        );
        expect(r.code, r.stderr).to.equal(0);
        const doc = JSON.parse(r.stdout) as { count: number; dir: string; manifest: string; devices: Array<{ id: string; qrCode: string }>; seeded: boolean };
        expect(doc.count).to.equal(2);
        expect(doc.seeded).to.equal(true);
        expect(doc.dir).to.equal(join(out, "fff2_8001"));
        expect(existsSync(doc.manifest)).to.equal(true);
        expect(r.stderr).to.match(/warning: --seed/);
        const d = doc.devices[0]!;
        expect(decodeQrCode(d.qrCode)[0]!.discoveryCapabilities).to.equal(6);
        const dac = parseCertificate(new Uint8Array(readFileSync(join(doc.dir, d.id, "internal/DAC_cert.der"))));
        expect(dac.notBefore.toISOString()).to.equal("2024-02-03T00:00:00.000Z");
        expect((dac.notAfter.getTime() - dac.notBefore.getTime()) / 86_400_000).to.equal(3650);
        expect(dac.subject.find(a => a.oid === "2.5.4.3")?.text).to.equal(d.id);
        expect(readFileSync(join(doc.dir, d.id, "internal/partition.csv"), "utf8")).to.include("mfg-date,data,string,20240601");
    });

    it("passcode 123456789 (accepted by mfg_tool) → exit 2, one line, nothing written", async () => {
        const out = join(dir, "bad-pin");
        const r = await runCli(["generate", ...common, "--passcode", "123456789", "--outdir", out], { cwd: REPO_ROOT });
        expectUsageError(r, /passcode.*123456789/);
        expect(existsSync(out)).to.equal(false);
    });

    it("--seed \"\" (an unset variable) → exit 2 naming --seed, nothing written", async () => {
        const out = join(dir, "empty-seed");
        const r = await runCli(["generate", ...common, "--seed", "", "--outdir", out], { cwd: REPO_ROOT });
        expectUsageError(r, /--seed.*must not be empty/);
        expect(existsSync(out)).to.equal(false);
    });

    it("--paa with --pai → exit 2", async () => {
        const out = join(dir, "both");
        const r = await runCli(["generate", ...common, "--paa", "--pai", "-c", paiPem, "-k", paiKey, "--outdir", out], { cwd: REPO_ROOT });
        expectUsageError(r, /--paa and --pai/);
        expect(existsSync(out)).to.equal(false);
    });

    it("--salt/--verifier that do not match --passcode → exit 2", async () => {
        const out = join(dir, "mismatch");
        const salt = Buffer.alloc(16, 1).toString("base64");
        const verifier = Buffer.alloc(97, 2).toString("base64");
        const r = await runCli(["generate", ...common, "--passcode", "20202021", "--salt", salt, "--verifier", verifier, "--outdir", out], { cwd: REPO_ROOT });
        expectUsageError(r, /--verifier does not match/);
        expect(existsSync(out)).to.equal(false);
    });

    it("Ctrl-C: the devices in progress finish, the manifest lists the complete ones, exit 130; --resume makes the rest", async () => {
        const out = join(dir, "interrupted");
        const top = join(out, "fff2_8001");
        const deviceDirs = (): string[] => (existsSync(top) ? readdirSync(top).filter(n => /^[0-9a-f-]{36}$/.test(n)) : []);
        const args = ["generate", "-v", "0xFFF2", "-p", "0x8001", "-n", "300", "-e", "--seed", "ctrl-c", "--outdir", out];
        const r = await runCli(args, { cwd: REPO_ROOT, interruptWhen: () => deviceDirs().length >= 5 });
        expect(r.code, r.stderr).to.equal(130);
        expect(r.stderr).to.contain("interrupted: finishing the devices in progress");
        const complete = deviceDirs();
        expect(complete.length).to.be.within(5, 299);
        expect(r.stdout).to.contain(`interrupted: ${complete.length} device(s) complete; run the same command with --resume`);
        const manifest = JSON.parse(readFileSync(join(top, "manifest.json"), "utf8")) as { devices: Array<{ id: string }> };
        expect(manifest.devices.map(d => d.id).sort()).to.deep.equal(complete.sort());
        expect(readdirSync(top).filter(n => n.startsWith(".tmp-"))).to.deep.equal([]);

        const again = await runCli([...args, "--resume", "--json"], { cwd: REPO_ROOT });
        expect(again.code, again.stderr).to.equal(0);
        const doc = JSON.parse(again.stdout) as { count: number; resumed: number; generated: number; interrupted?: boolean };
        expect([doc.count, doc.resumed, doc.generated, doc.interrupted]).to.deep.equal([300, complete.length, 300 - complete.length, undefined]);
        expect(deviceDirs()).to.have.length(300);
    });

    it("SIGTERM (a CI job's timeout) stops the same way: exit 130, a manifest of the complete devices", async () => {
        const out = join(dir, "terminated");
        const top = join(out, "fff2_8001");
        const deviceDirs = (): string[] => (existsSync(top) ? readdirSync(top).filter(n => /^[0-9a-f-]{36}$/.test(n)) : []);
        const r = await runCli(["generate", "-v", "0xFFF2", "-p", "0x8001", "-n", "300", "--outdir", out], {
            cwd: REPO_ROOT,
            interruptWhen: () => deviceDirs().length >= 3,
            interruptSignal: "SIGTERM",
        });
        expect(r.code, r.stderr).to.equal(130);
        const manifest = JSON.parse(readFileSync(join(top, "manifest.json"), "utf8")) as { devices: Array<{ id: string }> };
        expect(manifest.devices.map(d => d.id).sort()).to.deep.equal(deviceDirs().sort());
        expect(manifest.devices.length).to.be.within(3, 299);
    });

    it("--outdir below a plain file → exit 2 naming --outdir, no stack trace", async () => {
        const file = join(dir, "plain-file");
        writeFileSync(file, "not a directory");
        const r = await runCli(["generate", ...common, "--outdir", join(file, "out")], { cwd: REPO_ROOT });
        expectUsageError(r, /--outdir.*ENOTDIR.*cannot create the output directory/);
        expect(readFileSync(file, "utf8")).to.equal("not a directory");
    });
});
