import { expect } from "chai";
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWithVectors } from "../../../emulator/testing/vectors.js";
import { runCli } from "../testing.js";

describeWithVectors("mfgsim ota (CLI)", "ota", vectors => {
    const payload = join(vectors, "payload1.bin");
    const ref = join(vectors, "ref1_fff1_8000_v2_sha256.ota");

    it("ota create with the exact cli.md / ota_image_tool spelling writes the reference bytes", async () => {
        const dir = await mkdtemp(join(tmpdir(), "mfgsim-ota-"));
        const out = join(dir, "out.ota");
        const run = await runCli(["ota", "create", "-v", "0xFFF1", "-p", "0x8000", "-vn", "2", "-vs", "2.0", "-da", "sha256", payload, out, "--json"]);
        expect(run.code, run.stderr).to.equal(0);
        const doc = JSON.parse(run.stdout);
        const refBytes = await readFile(ref);
        expect(doc).to.include({ output: out, headerSize: refBytes.readUInt32LE(12), totalSize: refBytes.length });
        expect((await readFile(out)).equals(refBytes)).to.equal(true);
    });

    it("ota show --json reports the header fields (null for absent optional ones)", async () => {
        const run = await runCli(["ota", "show", ref, "--json"]);
        expect(run.code, run.stderr).to.equal(0);
        const doc = JSON.parse(run.stdout);
        const pl = await readFile(payload);
        expect(doc).to.deep.include({
            vendorId: 0xfff1,
            productId: 0x8000,
            softwareVersion: 2,
            softwareVersionString: "2.0",
            payloadSize: pl.length,
            minApplicableVersion: null,
            maxApplicableVersion: null,
            releaseNotesUrl: null,
            digestType: "sha256",
            digest: createHash("sha256").update(pl).digest("hex"),
            digestOk: true,
        });
    });

    it("-mi/-ma/-rn spellings and a refusal: exit 2, one line, no output file", async () => {
        const dir = await mkdtemp(join(tmpdir(), "mfgsim-ota-"));
        const ok = join(dir, "ok.ota");
        const good = await runCli(["ota", "create", "-v", "0xFFF1", "-p", "0x8000", "-vn", "5", "-vs", "5.0", "-da", "sha512", "-mi", "1", "-ma", "4", "-rn", "https://example.com/rn", payload, ok, "--json"]);
        expect(good.code, good.stderr).to.equal(0);
        const shown = JSON.parse((await runCli(["ota", "show", ok, "--json"])).stdout);
        expect(shown).to.include({ minApplicableVersion: 1, maxApplicableVersion: 4, releaseNotesUrl: "https://example.com/rn", digestType: "sha512", digestOk: true });

        const bad = join(dir, "bad.ota");
        const run = await runCli(["ota", "create", "-v", "0xFFF1", "-p", "0x8000", "-vn", "2", "-vs", "2.0", "-da", "sha256", "-mi", "2", payload, bad]);
        expect(run.code).to.equal(2);
        const lines = run.stderr.trim().split("\n");
        expect(lines).to.have.length(1);
        expect(lines[0]).to.contain("CHIP_ERROR_INVALID_ARGUMENT").and.contain("Minimum applicable version");
        expect(existsSync(bad)).to.equal(false);
        expect(readdirSync(dir).sort()).to.deep.equal(["ok.ota"]); // no temp file left either
    });

    it("ota show on a corrupted payload exits 1 (digest check failed); on a non-OTA file exits 2", async () => {
        const dir = await mkdtemp(join(tmpdir(), "mfgsim-ota-"));
        const bytes = await readFile(ref);
        bytes[bytes.length - 1]! ^= 0xff;
        const corrupt = join(dir, "corrupt.ota");
        await writeFile(corrupt, bytes);
        const run = await runCli(["ota", "show", corrupt, "--json"]);
        expect(run.code).to.equal(1);
        expect(JSON.parse(run.stdout).digestOk).to.equal(false);
        const notOta = await runCli(["ota", "show", payload]);
        expect(notOta.code).to.equal(2);
        expect(notOta.stderr.trim().split("\n")).to.have.length(1);
        expect(notOta.stderr).to.contain("CHIP_ERROR_INVALID_FILE_IDENTIFIER").and.contain("payload1.bin");
    });
});
