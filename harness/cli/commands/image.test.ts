import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { testKeys } from "../../../emulator/bootloader_support/testing.js";
import { runCli } from "../testing.js";

describe("mfgsim image (CLI)", function () {
    this.timeout(120_000);
    let dir: string;
    before(() => {
        dir = mkdtempSync(join(tmpdir(), "mfgsim-image-"));
        const keys = testKeys();
        writeFileSync(join(dir, "ec0.pem"), keys.ec0, { mode: 0o600 });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const oneLineError = (stderr: string, re: RegExp) => {
        const lines = stderr.trim().split("\n");
        expect(lines.length, stderr).to.equal(1);
        expect(lines[0]).to.match(re);
        expect(stderr).to.not.match(/\n\s+at /);
    };

    it("build → info → sign → verify (happy path), verify with a wrong digest exits 1", async () => {
        const app = join(dir, "app.bin");
        const b = await runCli(["image", "build", "--chip", "esp32c6", "--version", "2.0.1", "--secure-version", "2", "--project-name", "light", "--size", "0x2000", "--software-version", "0x20001", "-o", app, "--json"]);
        expect(b.code, b.stderr).to.equal(0);
        const built = JSON.parse(b.stdout);
        expect(built.output).to.equal(app);
        expect(built.sha256).to.equal(createHash("sha256").update(readFileSync(app)).digest("hex"));
        expect(readFileSync(app).length).to.equal(0x2000);

        const i = await runCli(["image", "info", app, "--json"]);
        expect(i.code, i.stderr).to.equal(0);
        const info = JSON.parse(i.stdout);
        expect(info).to.include({ chipId: 0xd, checksumOk: true, hashOk: true, entryAddr: "0x40800080" });
        expect(info.segments[0]).to.include({ loadAddr: "0x42010020" });
        expect(info.appDesc).to.include({ version: "2.0.1", projectName: "light", secureVersion: 2, idfVer: "v5.5.1", matterSoftwareVersion: 0x20001 });
        expect(info.signatureBlocks).to.deep.equal([]);

        const signed = join(dir, "signed.bin");
        const s = await runCli(["image", "sign", app, "--keyfile", join(dir, "ec0.pem"), "-o", signed, "--json"]);
        expect(s.code, s.stderr).to.equal(0);
        const sig = JSON.parse(s.stdout);
        expect(sig.output).to.equal(signed);
        expect(sig.keyDigest).to.match(/^[0-9a-f]{64}$/);
        expect(s.stdout).to.not.match(/PRIVATE KEY/);
        const digestFile = join(dir, "digest.bin");
        writeFileSync(digestFile, Buffer.from(sig.keyDigest, "hex"));

        const v = await runCli(["image", "verify", signed, "--key-digest", digestFile, "--json"]);
        expect(v.code, v.stderr).to.equal(0);
        expect(JSON.parse(v.stdout)).to.include({ valid: true, block: 0 });

        const wrong = join(dir, "wrong.bin");
        writeFileSync(wrong, Buffer.alloc(32, 7));
        const w = await runCli(["image", "verify", signed, "--key-digest", wrong, "--json"]);
        expect(w.code).to.equal(1);
        const wj = JSON.parse(w.stdout);
        expect(wj).to.include({ valid: false, block: null });
        expect(wj.reason).to.match(/key digest does not match/);
    });

    it("a non-image file exits 2 with one line naming the file and ESP_ERR_IMAGE_INVALID", async () => {
        const junk = join(dir, "junk.bin");
        writeFileSync(junk, Buffer.alloc(100, 0xff));
        const r = await runCli(["image", "info", junk, "--json"]);
        expect(r.code).to.equal(2);
        expect(r.stdout).to.equal("");
        oneLineError(r.stderr, /junk\.bin.*ESP_ERR_IMAGE_INVALID: image at 0x0 has invalid magic byte/);
    });

    it("errors leave no output file behind (bad key file; already signed input)", async () => {
        const app = join(dir, "app2.bin");
        expect((await runCli(["image", "build", "--chip", "esp32", "--version", "1", "-o", app])).code).to.equal(0);
        const badKey = join(dir, "bad.pem");
        writeFileSync(badKey, "not a key");
        const out = join(dir, "out.bin");
        const r = await runCli(["image", "sign", app, "--keyfile", badKey, "-o", out]);
        expect(r.code).to.equal(2);
        oneLineError(r.stderr, /bad\.pem.*not a PEM private key/);
        expect(existsSync(out)).to.equal(false);
        const u = await runCli(["image", "build", "--chip", "esp8266", "--version", "1", "-o", out]);
        expect(u.code).to.equal(2);
        expect(existsSync(out)).to.equal(false);
    });
});
