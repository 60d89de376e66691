import { expect } from "chai";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../../emulator/testing/vectors.js";
import { runCli } from "../testing.js";

function oneLineError(stderr: string, code: string): void {
    const lines = stderr.trim().split("\n");
    expect(lines, stderr).to.have.length(1);
    expect(lines[0]).to.contain(code);
    expect(stderr).to.not.match(/\n\s+at /);
}

describe("mfgsim nvs (CLI)", function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), "mfgsim-nvs-"));
    // runCli spawns `node --import tsx`, which resolves tsx from the working directory
    symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"));
    writeFileSync(join(dir, "ok.csv"), "key,type,encoding,value\nns,namespace,,\nnum,data,u64,18446744073709551615\nneg,data,i8,-5\ns,data,string,hi\nf,file,binary,blob.bin\n");
    writeFileSync(join(dir, "blob.bin"), Buffer.from([1, 2, 254]));
    writeFileSync(join(dir, "badrow.csv"), "key,type,encoding,value\nns,namespace,,\nok,data,u8,1\nbad,data,u8,300\n");
    writeFileSync(join(dir, "longkey.csv"), "key,type,encoding,value\nns,namespace,,\nthis_key_is_too_long,data,u8,1\n");

    it("encrypt --keygen writes a 0600 key file under keys/, dump --keys reads it back", async () => {
        const r = await runCli(["nvs", "encrypt", "ok.csv", "e.bin", "0x3000", "--keygen", "--keyfile", "k.bin", "--json"], { cwd: dir });
        expect(r.code, r.stderr).to.equal(0);
        const doc = JSON.parse(r.stdout);
        expect(doc).to.deep.include({ output: join(dir, "e.bin"), pages: 1, entries: 4, keyfile: join(dir, "keys", "k.bin") });
        expect(statSync(join(dir, "keys", "k.bin")).mode & 0o777).to.equal(0o600);
        const d = await runCli(["nvs", "dump", "e.bin", "--keys", "keys/k.bin", "--json"], { cwd: dir });
        expect(d.code, d.stderr).to.equal(0);
        const dump = JSON.parse(d.stdout);
        expect(dump.pages[0]).to.deep.include({ index: 0, state: "ACTIVE", seq: 0, version: 0xfe, crcOk: true });
        expect(dump.pages.map((p: { state: string }) => p.state)).to.deep.equal(["ACTIVE", "UNINITIALIZED", "UNINITIALIZED"]);
        expect(dump.entries).to.deep.equal([
            { namespace: "ns", key: "num", type: "u64", value: "18446744073709551615" },
            { namespace: "ns", key: "neg", type: "i8", value: -5 },
            { namespace: "ns", key: "s", type: "string", value: "hi" },
            { namespace: "ns", key: "f", type: "blob", value: "0102fe" },
        ]);
    });

    it("generate-key --key_protect_hmac writes the HMAC-derived XTS keys (0600); a key that is not 32 bytes still works, with a warning", async () => {
        const hmacKey = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
        writeFileSync(join(dir, "hmac.bin"), hmacKey);
        const seed = (word: number[]): Buffer => Buffer.from(Array.from({ length: 8 }, () => word).flat());
        const r = await runCli(["nvs", "generate-key", "--key_protect_hmac", "--kp_hmac_inputkey", "hmac.bin", "--keyfile", "hk.bin", "--json"], { cwd: dir });
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stderr).to.equal("");
        const file = join(dir, "keys", "hk.bin");
        expect(JSON.parse(r.stdout)).to.deep.equal({ keyfile: file });
        expect(statSync(file).mode & 0o777).to.equal(0o600);
        const keys = readFileSync(file);
        // ESP-IDF nvs_sec_provider: eky = HMAC-SHA256(key, 0x5A5ABEAE × 8), tky = HMAC-SHA256(key, 0xA5A5DECE × 8) (specs/nvs.md)
        expect(keys.subarray(0, 32).toString("hex")).to.equal(createHmac("sha256", hmacKey).update(seed([0x5a, 0x5a, 0xbe, 0xae])).digest("hex"));
        expect(keys.subarray(32, 64).toString("hex")).to.equal(createHmac("sha256", hmacKey).update(seed([0xa5, 0xa5, 0xde, 0xce])).digest("hex"));

        writeFileSync(join(dir, "hmac16.bin"), hmacKey.subarray(0, 16));
        const short = await runCli(["nvs", "generate-key", "--key_protect_hmac", "--kp_hmac_inputkey", "hmac16.bin", "--keyfile", "hk16.bin"], { cwd: dir });
        expect(short.code, short.stderr).to.equal(0); // nvs_partition_gen takes it too
        expect(short.stderr).to.match(/^mfgsim nvs: warning: hmac16\.bin: HMAC key is 16 bytes; .*32/);
        expect(existsSync(join(dir, "keys", "hk16.bin"))).to.equal(true);

        const missing = await runCli(["nvs", "generate-key", "--key_protect_hmac"], { cwd: dir });
        expect(missing.code).to.equal(2);
        oneLineError(missing.stderr, "--kp_hmac_inputkey");
    });

    it("decrypt / dump with a wrong key partition → ESP_ERR_NVS_CORRUPT_KEY_PART, no output file", async () => {
        writeFileSync(join(dir, "wrongkeys.bin"), Buffer.alloc(4096, 0x11));
        const r = await runCli(["nvs", "decrypt", "e.bin", "wrongkeys.bin", "dec.bin", "--json"], { cwd: dir });
        expect(r.code).to.equal(2);
        expect(r.stdout).to.equal("");
        oneLineError(r.stderr, "ESP_ERR_NVS_CORRUPT_KEY_PART");
        expect(existsSync(join(dir, "dec.bin"))).to.equal(false);
        const d = await runCli(["nvs", "dump", "e.bin", "--keys", "wrongkeys.bin"], { cwd: dir });
        expect(d.code).to.equal(2);
        oneLineError(d.stderr, "ESP_ERR_NVS_CORRUPT_KEY_PART");
    });

    it("a bad CSV row names the line; a key > 15 chars is ESP_ERR_NVS_KEY_TOO_LONG; no output is left", async () => {
        const r = await runCli(["nvs", "generate", "badrow.csv", "out1.bin", "0x3000"], { cwd: dir });
        expect(r.code).to.equal(2);
        oneLineError(r.stderr, "ESP_ERR_INVALID_ARG");
        expect(r.stderr).to.contain("badrow.csv: line 4");
        const k = await runCli(["nvs", "generate", "longkey.csv", "out2.bin", "0x3000", "--json"], { cwd: dir });
        expect(k.code).to.equal(2);
        oneLineError(k.stderr, "ESP_ERR_NVS_KEY_TOO_LONG");
        expect(k.stderr).to.contain("line 3");
        expect(readdirSync(dir).filter(f => f.startsWith("out") || f.endsWith(".tmp"))).to.deep.equal([]);
    });

    it("a missing CSV and a truncated image fail with one line, exit 2", async () => {
        const m = await runCli(["nvs", "generate", "missing.csv", "out3.bin", "0x3000"], { cwd: dir });
        expect(m.code).to.equal(2);
        oneLineError(m.stderr, "missing.csv");
        expect(existsSync(join(dir, "out3.bin"))).to.equal(false);
        writeFileSync(join(dir, "trunc.bin"), readFileSync(join(dir, "e.bin")).subarray(0, 5000));
        const t = await runCli(["nvs", "dump", "trunc.bin", "--json"], { cwd: dir });
        expect(t.code).to.equal(2);
        expect(t.stdout).to.equal("");
        oneLineError(t.stderr, "ESP_ERR_INVALID_SIZE");
    });

    it("an output path below a plain file, or an unusable demo --out, fails with one line naming the path, exit 2", async () => {
        writeFileSync(join(dir, "plain"), "x");
        const g = await runCli(["nvs", "generate", "ok.csv", "plain/out.bin", "0x3000"], { cwd: dir });
        expect(g.code).to.equal(2);
        oneLineError(g.stderr, "EEXIST");
        expect(g.stderr).to.contain(join(dir, "plain", "out.bin"));
        expect(g.stderr).to.contain("a part of the path is a file");
        const d = await runCli(["demo", "--out", "plain/reports", "-n", "1"], { cwd: dir });
        expect(d.code).to.equal(2);
        oneLineError(d.stderr, "ENOTDIR");
        expect(d.stderr).to.contain("plain/reports/demo");
        expect(d.stderr).to.not.contain("internal error");
        expect(readFileSync(join(dir, "plain"), "utf8")).to.equal("x");
    });
});
