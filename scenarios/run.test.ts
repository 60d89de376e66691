/** `mfgsim run`: reports written, exit codes, seed and replay command printed. */
import { expect } from "chai";
import { mkdtemp, readFile, rm, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../harness/cli/testing.js";
import { parseRunResult } from "../reports/index.js";

const lib = fileURLToPath(new URL("./lib/index.js", import.meta.url)).replace(/\.js$/, ".ts");

describe("mfgsim run (CLI)", function () {
    this.timeout(60_000);
    it("runs scenario files: JSON/JUnit reports, exit 1 on a failing scenario with its seed and replay command, exit 2 on a bad path", async () => {
        const dir = await mkdtemp(join(tmpdir(), "mfgsim-run-"));
        try {
            await writeFile(join(dir, "s.ts"), `import { scenario } from ${JSON.stringify(lib)};
export const good = scenario("passcode absent", async ({ line, expect }) => {
    const dev = await line.device();
    expect(dev.read("passcode")).toFailWith("ESP_ERR_NVS_NOT_FOUND");
});
export const bad = scenario("wrong expectation", async ({ line, expect }) => {
    const dev = await line.device();
    expect(await dev.boot({ start: false })).toFailWith("PaaNotFound");
});
export const later = scenario.pending("ota", "needs OTA");
`);
            const r = await runCli(["run", "s.ts", "--seed", "s33d", "--json", "out.json", "--junit", "out.xml"], { cwd: dir });
            expect(r.code, r.stderr).to.equal(1);
            expect(r.stderr).to.contain("seed s33d");
            expect(r.stdout).to.contain("npx mfgsim run s.ts --seed s33d");
            const doc = parseRunResult(JSON.parse(await readFile(join(dir, "out.json"), "utf8")));
            expect(doc.summary).to.deep.equal({ total: 3, passed: 2, failed: 1 });
            const bad = doc.devices.find(d => d.id === "wrong expectation")!;
            expect(bad.status).to.equal("fail");
            expect(bad.checks.find(c => c.status === "fail")!.detail).to.contain("it passed");
            expect(doc.devices.find(d => d.id === "ota")!.checks[0]).to.include({ status: "skip", detail: "needs OTA" });
            expect(await readFile(join(dir, "out.xml"), "utf8")).to.contain('<testsuite name="passcode absent"');

            const ok = await runCli(["run", "s.ts", "--grep", "absent", "--seed", "s33d", "--json"], { cwd: dir });
            expect(ok.code, ok.stderr).to.equal(0);
            expect(JSON.parse(ok.stdout).summary).to.deep.equal({ total: 1, passed: 1, failed: 0 });

            const missing = await runCli(["run", "nope.ts", "--json", "x.json"], { cwd: dir });
            expect(missing.code).to.equal(2);
            expect(missing.stderr.trim().split("\n")).to.have.length(1);
            expect(await readdir(dir)).not.to.include("x.json");
        } finally {
            await rm(dir, { recursive: true, force: true });
        }
    });
});
