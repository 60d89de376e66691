import { expect } from "chai";
import fc from "fast-check";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiagnosticError } from "../emulator/esp_common/err.js";
import { runCli } from "../harness/cli/testing.js";
import {
    deviceStatus,
    htmlEscape,
    makeRunResult,
    mergeResults,
    parseRunResult,
    toHtml,
    toJUnit,
    xmlEscape,
    type CheckResult,
    type DeviceResult,
} from "./index.js";

const check = (name: string, status: CheckResult["status"], detail = ""): CheckResult => ({ name, status, detail, ms: 12 });

function device(id: string, checks: CheckResult[]): DeviceResult {
    return {
        id,
        dir: `out/fff1_8000/${id}`,
        status: deviceStatus(checks),
        checks,
        vendorId: 0xfff1,
        productId: 0x8000,
        serialNumber: `SN-${id}`,
        softwareVersion: 1,
        softwareVersionAfterOta: null,
    };
}

const arbCheck = fc.record({
    name: fc.string({ minLength: 1 }),
    status: fc.constantFrom("pass", "fail", "skip") as fc.Arbitrary<CheckResult["status"]>,
    detail: fc.string(),
    ms: fc.nat(100000),
});
const arbDevice = fc.tuple(fc.uuid(), fc.array(arbCheck, { maxLength: 6 })).map(([id, checks]) => device(id, checks));
const arbResult = fc.array(arbDevice, { maxLength: 8 }).map(devices =>
    makeRunResult({ version: "0.1.0", startedAt: "2026-11-25T07:00:00.000Z", durationMs: 1234, shard: null, devices }),
);

describe("reports", () => {
    const sample = makeRunResult({
        version: "0.1.0",
        startedAt: "2026-11-25T07:00:00.000Z",
        durationMs: 2500,
        shard: "1/2",
        devices: [
            device("dev-a", [check("nvs.mount", "pass"), check("attestation", "pass"), check("ota", "skip", "no --ota")]),
            device("dev-b", [check("nvs.mount", "pass"), check("attestation", "fail", "PaaNotFound: no PAA with SKID 6AFD <&> in store")]),
        ],
    });

    it("derives the summary and device status from the checks", () => {
        expect(sample.summary).to.deep.equal({ total: 2, passed: 1, failed: 1 });
        expect(sample.devices.map(d => d.status)).to.deep.equal(["pass", "fail"]);
    });

    it("JUnit: one testcase per check, failures carry the error name as type and escaped detail", () => {
        const xml = toJUnit(sample);
        expect(xml.match(/<testcase /g)).to.have.length(5);
        expect(xml).to.match(/<testsuites name="mfgsim" tests="5" failures="1" skipped="1"/);
        expect(xml).to.contain('<failure type="PaaNotFound" message="PaaNotFound: no PAA with SKID 6AFD &lt;&amp;&gt; in store">');
        expect(xml).to.contain('<skipped message="no --ota"/>');
    });

    it("escapes arbitrary text so that no raw markup survives (XML and HTML)", () => {
        fc.assert(
            fc.property(fc.string({ unit: "binary" }), s => {
                for (const out of [xmlEscape(s), htmlEscape(s)]) {
                    expect(out).not.to.match(/[<>"]/);
                    expect(out.replace(/&(amp|lt|gt|quot|apos|#39);/g, "")).not.to.contain("&");
                }
            }),
        );
    });

    it("HTML lists failed devices first with the failure detail", () => {
        const html = toHtml(sample);
        expect(html.indexOf("dev-b")).to.be.lessThan(html.indexOf("dev-a"));
        expect(html).to.contain("PaaNotFound: no PAA with SKID 6AFD &lt;&amp;&gt; in store");
        expect(html).to.contain("1 passed");
    });

    it("round-trips any result through JSON and parseRunResult", () => {
        fc.assert(
            fc.property(arbResult, r => {
                expect(parseRunResult(JSON.parse(JSON.stringify(r)))).to.deep.equal(r);
            }),
        );
    });

    it("rejects malformed result documents with a DiagnosticError naming the field", () => {
        expect(() => parseRunResult({ tool: "mfgsim", startedAt: "x", durationMs: 1, devices: [{ id: 3, checks: [] }] }, "a.json"))
            .to.throw(DiagnosticError)
            .with.property("context")
            .that.deep.equals({ file: "a.json", field: "devices[0].id" });
        fc.assert(
            fc.property(fc.jsonValue(), v => {
                try {
                    parseRunResult(v);
                } catch (e) {
                    expect(e).to.be.instanceOf(DiagnosticError);
                }
            }),
        );
    });

    it("merges shards: totals add up, overlapping shards are an error", () => {
        fc.assert(
            fc.property(arbResult, arbResult, (a, b) => {
                const ids = new Set(a.devices.map(d => d.id));
                fc.pre(b.devices.every(d => !ids.has(d.id)) && new Set(b.devices.map(d => d.id)).size === b.devices.length && ids.size === a.devices.length);
                fc.pre(a.devices.length + b.devices.length > 0);
                const m = mergeResults([{ file: "a", result: a }, { file: "b", result: b }]);
                expect(m.summary.total).to.equal(a.summary.total + b.summary.total);
                expect(m.summary.failed).to.equal(a.summary.failed + b.summary.failed);
                expect(m.shard).to.equal(null);
            }),
        );
        expect(() => mergeResults([{ file: "a", result: sample }, { file: "b", result: sample }])).to.throw(/dev-a is in a and b/);
    });

    it("CLI report merge writes all three reports and exits 1 when a device failed", async () => {
        const dir = await mkdtemp(join(tmpdir(), "mfgsim-report-"));
        const [a, b] = [join(dir, "a.json"), join(dir, "b.json")];
        await writeFile(a, JSON.stringify({ ...sample, devices: [sample.devices[0]] }));
        await writeFile(b, JSON.stringify({ ...sample, devices: [sample.devices[1]] }));
        const run = await runCli(["report", "merge", a, b, "-o", join(dir, "out"), "--json"]);
        expect(run.code).to.equal(1);
        expect(JSON.parse(run.stdout).summary).to.deep.equal({ total: 2, passed: 1, failed: 1 });
        expect((await readdir(join(dir, "out"))).sort()).to.deep.equal(["junit.xml", "report.html", "report.json"]);
        expect(await readFile(join(dir, "out", "junit.xml"), "utf8")).to.contain("PaaNotFound");

        await writeFile(b, "{ truncated");
        const bad = await runCli(["report", "merge", a, b, "-o", join(dir, "out2")]);
        expect(bad.code).to.equal(2);
        expect(bad.stderr.trim().split("\n")).to.have.length(1);
        expect(bad.stderr).to.contain(`${b}: INVALID_RESULT_FILE: not JSON`);
    });
});
