import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { runCli } from "../cli/testing.js";

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
    const lines = stderr.trimEnd().split("\n");
    expect(lines, stderr).to.have.length(1);
    expect(stderr).to.not.match(/\n\s+at /);
    return lines[0]!;
}

describe("CLI: payload and spake2p", function () {
    this.timeout(30000);

    it("payload generate → the SetupPayload.py strings (--json) and parse of a printed manual code", async () => {
        const r = await runCli(["payload", "generate", "--vid", "0xFFF1", "--pid", "0x8000", "--passcode", "20202021", "--discriminator", "3840", "--capabilities", "2", "--json"]);
        expect(r.code, r.stderr).to.equal(0);
        expect(JSON.parse(r.stdout)).to.deep.equal({ qrCode: "MT:Y.K9042C00KA0648G00", manualCode: "34970112332" });
        const p = await runCli(["payload", "parse", "3497-011-2332", "--json"]);
        expect(p.code, p.stderr).to.equal(0);
        expect(JSON.parse(p.stdout)).to.deep.include({
            version: null,
            vendorId: null,
            productId: null,
            commissioningFlow: 0,
            discoveryCapabilities: null,
            discriminator: null,
            shortDiscriminator: 15,
            passcode: 20202021,
        });
    });

    it("payload parse MT:… → all fields; a corrupted code → exit 2, one line", async () => {
        const r = await runCli(["payload", "parse", "MT:A3L90ARR15G6N57Y900", "--json"]);
        expect(r.code, r.stderr).to.equal(0);
        expect(JSON.parse(r.stdout)).to.deep.include({
            version: 0,
            vendorId: 1,
            productId: 1,
            commissioningFlow: 1,
            discoveryCapabilities: 4,
            discriminator: 3781,
            shortDiscriminator: 14,
            passcode: 12349876,
        });
        const bad = await runCli(["payload", "parse", "34970112333", "--json"]);
        expect(bad.code).to.equal(2);
        expect(bad.stdout).to.equal("");
        expect(oneLine(bad.stderr)).to.contain("CHIP_ERROR_INTEGRITY_CHECK_FAILED");
    });

    it("payload generate with the trivial passcode 12345678 → exit 2, one line naming the passcode; no label file left", async () => {
        const dir = mkdtempSync(join(tmpdir(), "mfgsim-payload-"));
        const r = await runCli(
            ["payload", "generate", "--vid", "0xFFF1", "--pid", "0x8000", "--passcode", "12345678", "--discriminator", "3840", "--png", join(dir, "label.png")],
        );
        expect(r.code).to.equal(2);
        expect(r.stdout).to.equal("");
        const line = oneLine(r.stderr);
        expect(line).to.contain("passcode").and.contain("12345678").and.contain("CHIP_ERROR_INVALID_ARGUMENT");
        expect(readdirSync(dir)).to.deep.equal([]);
    });

    it("spake2p gen-verifier → the reference verifier; a 15-byte salt → exit 2, one line", async () => {
        const r = await runCli(["spake2p", "gen-verifier", "--pin-code", "20202021", "--salt", "U1BBS0UyUCBLZXkgU2FsdA==", "--iteration-count", "1000", "--json"]);
        expect(r.code, r.stderr).to.equal(0);
        expect(JSON.parse(r.stdout)).to.deep.equal({
            verifier: "uWFwqugDNGiEck/po7KHwwMwwqZgN10XuyBajPGuyzUEV/iree4lOrao5GuwnlQ65CJzbeUB49s31EH+NEkg0JVI5MGCQGMMT/SRPFNRODm3wH/MBiehuFc6FJ/NH6Rmzw==",
            salt: "U1BBS0UyUCBLZXkgU2FsdA==",
            iterationCount: 1000,
        });
        const salt15 = Buffer.alloc(15, 7).toString("base64");
        const bad = await runCli(["spake2p", "gen-verifier", "--pin-code", "20202021", "--salt", salt15, "--iteration-count", "1000", "--json"]);
        expect(bad.code).to.equal(2);
        expect(bad.stdout).to.equal("");
        expect(oneLine(bad.stderr)).to.contain("salt").and.contain("CHIP_ERROR_INVALID_ARGUMENT");
    });
});
