import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, describeWithVectors } from "../../../emulator/testing/vectors.js";
import { runCli } from "../testing.js";

// CLI tests for parttable, otadata inspect and flash-crypt (run from the repo root: runCli's `--import tsx`
// resolves tsx from the working directory).
describeWithVectors("CLI parttable / otadata / flash-crypt", "esp32", dir => {
    const tmp = mkdtempSync(join(tmpdir(), "mfgsim-esp-"));
    const run = (args: string[]) => runCli(args, { cwd: REPO_ROOT });

    it("parttable CSV → bin is byte-exact; bad CSV exits 2 with one line and no output", async () => {
        const out = join(tmp, "pt.bin");
        const r = await run(["parttable", join(dir, "partition_table/matter_light_wifi.csv"), out, "--flash-size", "4MB", "--json"]);
        expect(r.code, r.stderr).to.equal(0);
        const doc = JSON.parse(r.stdout);
        expect(doc.output).to.equal(out);
        expect(doc.entries[1]).to.deep.equal({ name: "nvs", type: "data", subtype: "nvs", offset: 0x10000, size: 0x6000, flags: [] });
        expect(readFileSync(out).equals(readFileSync(join(dir, "partition_table/matter_light_wifi.bin")))).to.equal(true);

        const bad = join(tmp, "bad.csv");
        writeFileSync(bad, "nvs, data, nvs, 0x9000, 0x6000\nphy, data, phy, 0xa000, 0x1000\n");
        const b = await run(["parttable", bad, join(tmp, "bad.bin")]);
        expect(b.code).to.equal(2);
        expect(b.stderr.trim().split("\n")).to.have.length(1);
        expect(b.stderr).to.match(/line 2: .*overlap/);
        expect(existsSync(join(tmp, "bad.bin"))).to.equal(false);
    });

    it("otadata inspect reports the rollback; a short file exits 2", async () => {
        const r = await run(["otadata", "inspect", join(dir, "otadata/otadata_slot1_pending_verify.bin"), "--ota-slots", "2", "--rollback", "--json"]);
        expect(r.code, r.stderr).to.equal(0);
        const doc = JSON.parse(r.stdout);
        expect(doc.sectors).to.deep.include({ seq: 2, state: "PENDING_VERIFY", crcOk: true, valid: true });
        expect(doc.bootSlot).to.equal("ota_0");
        expect(doc.writes.map((w: { sector: number; state: string }) => [w.sector, w.state])).to.deep.equal([[1, "ABORTED"]]);
        const short = join(tmp, "short.bin");
        writeFileSync(short, Buffer.alloc(100, 0xff));
        const b = await run(["otadata", "inspect", short, "--ota-slots", "2"]);
        expect(b.code).to.equal(2);
        expect(b.stderr).to.match(/ESP_ERR_OTA_SELECT_INFO_INVALID/);
        expect(b.stderr).to.not.match(/\n\s+at /);
    });

    it("flash-crypt encrypt --aes-xts matches the vector; a 64-byte key without --aes-xts exits 2", async () => {
        const out = join(tmp, "enc.bin");
        const key = join(dir, "flash_encryption/key_xts_aes_256.bin");
        const r = await run(["flash-crypt", "encrypt", "--aes-xts", "--keyfile", key, "--address", "0x10000", join(dir, "flash_encryption/plaintext_8k.bin"), out, "--json"]);
        expect(r.code, r.stderr).to.equal(0);
        expect(JSON.parse(r.stdout).output).to.equal(out);
        expect(readFileSync(out).equals(readFileSync(join(dir, "flash_encryption/xts_aes_256_at_0x10000.bin")))).to.equal(true);
        expect(r.stdout).to.not.include(readFileSync(key).toString("hex"));
        const b = await run(["flash-crypt", "decrypt", "--keyfile", key, "--address", "0x10000", out, join(tmp, "dec.bin")]);
        expect(b.code).to.equal(2);
        expect(b.stderr.trim().split("\n")).to.have.length(1);
        expect(existsSync(join(tmp, "dec.bin"))).to.equal(false);
    });
});
