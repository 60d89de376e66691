import { expect } from "chai";
import fc from "fast-check";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { PNG } from "pngjs";
import jsQRModule from "jsqr";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { decodeNvsKeys, mountNvs } from "../../emulator/nvs/index.js";
import { describeWithVectors } from "../../emulator/testing/vectors.js";
import { createAttestationResponse } from "../pki/attestation.js";
import { loadPrivateKey, pem, pkcs8Der } from "../pki/keys.js";
import { createTestPki } from "../pki/testpki.js";
import { verifyAttestation } from "../pki/verify.js";
import { verifyPasscodeAgainstVerifier } from "../spake2p/verifier.js";
import { rewriteMfgArgv } from "./argv.js";
import { certificationDeclarationWarnings, countLines, journalLines, prettyJsonChunks, runBatch, shardIndices } from "./batch.js";
import { csvDocument, parseCsv } from "./csvfmt.js";
import { closeJournal, finishDevice, nvsImage, openJournal, planDevice, prepare, writeDevice, type BatchContext } from "./device.js";
import { factoryRows, partitionCsvRows } from "./factory.js";
import { type MfgConfig, normalizeMfgDate, validateConfig } from "./options.js";
import { qrMatrix, qrSvg } from "./qrlabel.js";
import { errorOf } from "../cli/testing.js";

// jsqr is CommonJS with `exports.default`
type JsQR = typeof import("jsqr").default;
const jsQR: JsQR = ((jsQRModule as unknown as { default?: JsQR }).default ?? (jsQRModule as unknown as JsQR));

const VID = 0xfff2;
const PID = 0x8001;
const root = mkdtempSync(join(tmpdir(), "mfgsim-mfg-"));
const pki = createTestPki({ vid: VID, pid: PID, seed: "mfg_tool tests" });
writeFileSync(join(root, "pai.pem"), pki.pai.pem);
writeFileSync(join(root, "pai-key.pem"), pem("PRIVATE KEY", pkcs8Der(pki.pai.key)));
writeFileSync(join(root, "paa.pem"), pki.paa.pem);
writeFileSync(join(root, "paa-key.pem"), pem("PRIVATE KEY", pkcs8Der(pki.paa.key)));
writeFileSync(join(root, "cd.der"), pki.cd);

function cfg(over: Partial<MfgConfig> = {}): MfgConfig {
    return {
        count: 2, target: "esp32", size: 0x6000, encrypt: false, outdir: join(root, `out-${Math.random().toString(36).slice(2)}`),
        generateBin: true, secureCertBin: true, commissioningFlow: 0, discoveryMode: 2, dynamicPasscode: false, iterationCount: 1000,
        commissionableDataInSecureCert: false, dacInSecureCert: false, rdIdUidInSecureCert: false, lifetimeDays: 36500, cnPrefix: "ESP32",
        attestation: "pai", cert: join(root, "pai.pem"), key: join(root, "pai-key.pem"), certDclrn: join(root, "cd.der"),
        vendorId: VID, productId: PID, enableRotatingDeviceId: false, jobs: 1, resume: false, svg: true, ...over,
    };
}

/** Every file under dir (relative path → bytes), absolute outdir paths replaced so two outdirs compare equal. */
function tree(dir: string, outdir: string, skip = /^(summary|cn_dacs)-/): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (d: string): void => {
        for (const name of readdirSync(d)) {
            const p = join(d, name);
            if (statSync(p).isDirectory()) walk(p);
            else if (!skip.test(name) && name !== "mfgsim-journal.jsonl") out.set(relative(dir, p), readFileSync(p).toString("latin1").split(outdir).join("<OUT>"));
        }
    };
    walk(dir);
    return out;
}

function deviceDirs(top: string): string[] {
    return readdirSync(top).filter(n => /^[0-9a-f]{8}-/.test(n)).sort();
}

function decodePng(bytes: Uint8Array): string | undefined {
    const png = PNG.sync.read(Buffer.from(bytes));
    return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
}

/** Rasterizes the SVG's module path (M x y h n v1 h-n z) at 4 px per module and decodes it with jsQR. */
function decodeSvg(svg: string): string | undefined {
    const dim = Number(/viewBox="0 0 (\d+) /.exec(svg)![1]);
    const s = 4;
    const w = dim * s;
    const rgba = new Uint8ClampedArray(w * w * 4).fill(255);
    for (const m of svg.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
        const [x, y, run] = [Number(m[1]), Number(m[2]), Number(m[3])];
        for (let py = y * s; py < (y + 1) * s; py++) {
            for (let px = x * s; px < (x + run) * s; px++) rgba.fill(0, (py * w + px) * 4, (py * w + px) * 4 + 3);
        }
    }
    return jsQR(rgba, w, w)?.data;
}

after(() => rmSync(root, { recursive: true, force: true }));

describe("mfg_tool: generate batch", function () {
    this.timeout(60_000);

    it("writes mfg_tool's layout and file names, keys 0600, a manifest without secrets", async () => {
        const r = await runBatch(cfg({ encrypt: true, svg: true }), { cwd: root });
        expect(r.top.endsWith("fff2_8001")).to.equal(true);
        const dirs = deviceDirs(r.top);
        expect(dirs).to.have.length(2);
        for (const u of dirs) {
            const files = readdirSync(join(r.top, u)).sort();
            expect(files).to.deep.equal([`${u}-keys-partition.bin`, `${u}-onb_codes.csv`, `${u}-partition.bin`, `${u}-qrcode.png`, `${u}-qrcode.svg`, "internal"].sort());
            expect(readdirSync(join(r.top, u, "internal")).sort()).to.deep.equal(
                ["DAC_cert.der", "DAC_cert.pem", "DAC_key.der", "DAC_key.pem", "DAC_private_key.bin", "DAC_public_key.bin", "PAI_cert.der", "partition.csv"].sort(),
            );
            for (const k of ["internal/DAC_key.der", "internal/DAC_key.pem", "internal/DAC_private_key.bin", `${u}-keys-partition.bin`]) {
                expect(statSync(join(r.top, u, k)).mode & 0o777, k).to.equal(0o600);
            }
        }
        const top = readdirSync(r.top);
        expect(top.filter(n => /^summary-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.csv$/.test(n))).to.have.length(1);
        expect(top.filter(n => /^cn_dacs-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{6}\.csv$/.test(n))).to.have.length(1);
        expect(readdirSync(join(r.top, "staging"))).to.include.members(["config.csv", "master.csv", "pin_disc.csv", "pai_cert.der"]);
        // the batch files with passcodes are private too
        expect(statSync(join(r.top, "staging", "pin_disc.csv")).mode & 0o777).to.equal(0o600);
        expect(statSync(join(r.top, top.find(n => n.startsWith("summary-"))!)).mode & 0o777).to.equal(0o600);
        expect(top.some(n => n.startsWith(".tmp-"))).to.equal(false);

        const manifestText = readFileSync(r.manifest, "utf8");
        const manifest = JSON.parse(manifestText) as { devices: Array<{ id: string; files: Record<string, string>; dacSkid: string }> };
        expect(manifest.devices.map(d => d.id).sort()).to.deep.equal(dirs);
        for (const d of manifest.devices) {
            for (const f of Object.values(d.files)) expect(existsSync(join(r.top, f)), f).to.equal(true);
            const u = d.id;
            const onb = readFileSync(join(r.top, u, `${u}-onb_codes.csv`), "utf8").split("\n")[1]!.split(",");
            expect(manifestText).not.to.include(onb[3]!); // passcode
            for (const secret of ["internal/DAC_private_key.bin", `${u}-keys-partition.bin`]) {
                const b = readFileSync(join(r.top, u, secret)).subarray(0, 32);
                expect(manifestText).not.to.include(b.toString("hex")).and.not.to.include(b.toString("hex").toUpperCase()).and.not.to.include(b.toString("base64"));
            }
            expect(manifestText).not.to.match(/passcode|verifier|salt|PRIVATE/i);
        }
        // cn_dacs: CN = uuid, PEM DAC
        const cn = readFileSync(join(r.top, top.find(n => n.startsWith("cn_dacs-"))!), "utf8");
        expect(parseCsv(cn)[0]).to.deep.equal(["CN", "certs"]);
        expect(parseCsv(cn).slice(1).map(row => row[0]).sort()).to.deep.equal(dirs);
    });

    it("partition reads back (plain and encrypted) to the inputs; verifier matches the passcode; passcode absent; DAC passes the strict verifier", async () => {
        for (const encrypt of [false, true]) {
            const r = await runBatch(cfg({ encrypt, count: 1, vendorName: "Test Vendor", productName: "Bulb", hwVer: 3, hwVerStr: "v3", mfgDate: normalizeMfgDate("2024-06-01"), locales: ["en-US", "de-DE"], fixedLabels: ["0/orientation/up"] }), { cwd: root });
            const u = deviceDirs(r.top)[0]!;
            const dir = join(r.top, u);
            const image = readFileSync(join(dir, `${u}-partition.bin`));
            const keys = encrypt ? decodeNvsKeys(readFileSync(join(dir, `${u}-keys-partition.bin`))) : undefined;
            const nvs = mountNvs(new Uint8Array(image), keys ? { keys } : {});
            const ns = "chip-factory";
            const [qr, manual, disc, passcode] = readFileSync(join(dir, `${u}-onb_codes.csv`), "utf8").split("\n")[1]!.split(",");
            expect(nvs.getU32(ns, "discriminator")).to.equal(Number(disc));
            expect(nvs.getU32(ns, "iteration-count")).to.equal(1000);
            expect(nvs.getU32(ns, "vendor-id")).to.equal(VID);
            expect(nvs.getU32(ns, "product-id")).to.equal(PID);
            expect(nvs.getStr(ns, "vendor-name")).to.equal("Test Vendor");
            expect(nvs.getStr(ns, "product-name")).to.equal("Bulb");
            expect(nvs.getU32(ns, "hardware-ver")).to.equal(3);
            expect(nvs.getStr(ns, "mfg-date")).to.equal("20240601");
            expect(nvs.getU32(ns, "locale-sz")).to.equal(2);
            expect(nvs.getStr(ns, "locale/1")).to.equal("de-DE");
            expect(nvs.getStr(ns, "fl-v/0/0")).to.equal("up");
            expect(Buffer.from(nvs.getBlob(ns, "dac-cert")).equals(readFileSync(join(dir, "internal/DAC_cert.der")))).to.equal(true);
            expect(Buffer.from(nvs.getBlob(ns, "dac-key")).equals(readFileSync(join(dir, "internal/DAC_private_key.bin")))).to.equal(true);
            expect(Buffer.from(nvs.getBlob(ns, "dac-pub-key")).equals(readFileSync(join(dir, "internal/DAC_public_key.bin")))).to.equal(true);
            expect(Buffer.from(nvs.getBlob(ns, "pai-cert")).equals(Buffer.from(pki.pai.der))).to.equal(true);
            expect(Buffer.from(nvs.getBlob(ns, "cert-dclrn")).equals(Buffer.from(pki.cd))).to.equal(true);
            const manifest = JSON.parse(readFileSync(r.manifest, "utf8")) as { devices: Array<{ serial: string; qrCode: string; manualCode: string }> };
            expect(nvs.getStr(ns, "serial-num")).to.equal(manifest.devices[0]!.serial);
            expect(manifest.devices[0]!.qrCode).to.equal(qr);
            expect(manifest.devices[0]!.manualCode).to.equal(manual!.replace(/-/g, ""));
            const salt = Buffer.from(nvs.getStr(ns, "salt"), "base64");
            expect(salt.length).to.equal(32);
            const verifier = Buffer.from(nvs.getStr(ns, "verifier"), "base64");
            expect(verifyPasscodeAgainstVerifier(Number(passcode), salt, 1000, verifier)).to.equal(true);
            // the passcode is nowhere in the partition: no key for it, not as u32 LE, not as decimal text
            expect(nvs.entries().map(e => e.key)).not.to.include.members(["passcode", "pin-code"]);
            const pin = Buffer.alloc(4);
            pin.writeUInt32LE(Number(passcode));
            expect(image.indexOf(pin)).to.equal(-1);
            expect(image.indexOf(Buffer.from(passcode!))).to.equal(-1);
            // the order and types mfg_tool writes
            expect(nvs.entries().slice(0, 6).map(e => `${e.key}:${e.type}`)).to.deep.equal(["discriminator:u32", "iteration-count:u32", "salt:string", "vendor-id:u32", "vendor-name:string", "product-id:u32"]);
            // DAC → PAI → PAA, CD: strict attestation verifier
            const dacKey = loadPrivateKey(readFileSync(join(dir, "internal/DAC_key.pem")));
            const resp = createAttestationResponse({ certificationDeclaration: pki.cd, dacKey });
            const report = verifyAttestation(
                { dac: new Uint8Array(readFileSync(join(dir, "internal/DAC_cert.der"))), pai: pki.pai.der, ...resp, vendorId: VID, productId: PID },
                pki.trustStore(),
                { allowTestKeys: true },
            );
            expect(report.result, report.detail).to.equal("Success");
            expect(decodePng(readFileSync(join(dir, `${u}-qrcode.png`)))).to.equal(qr);
            expect(decodeSvg(readFileSync(join(dir, `${u}-qrcode.svg`), "utf8"))).to.equal(qr);
        }
    });

    it("--seed: byte-identical across --jobs 1 and --jobs 2; shards are disjoint and their union is the full run", async () => {
        const base = { seed: "batch-42", count: 5, encrypt: true };
        const a = await runBatch(cfg({ ...base, jobs: 1 }), { cwd: root });
        const b = await runBatch(cfg({ ...base, jobs: 2 }), { cwd: root });
        const ta = tree(a.top, a.outdir);
        expect(ta.size).to.be.greaterThan(40);
        expect([...tree(b.top, b.outdir)]).to.deep.equal([...ta]);

        const sharedOut = cfg().outdir;
        const s1 = await runBatch(cfg({ ...base, shard: { k: 1, n: 2 }, jobs: 2, outdir: sharedOut }), { cwd: root });
        const s2 = await runBatch(cfg({ ...base, shard: { k: 2, n: 2 }, outdir: sharedOut }), { cwd: root });
        const ids1 = s1.devices.map(d => d.id);
        const ids2 = s2.devices.map(d => d.id);
        expect(ids1.filter(i => ids2.includes(i))).to.deep.equal([]);
        expect([...ids1, ...ids2].sort()).to.deep.equal(deviceDirs(a.top));
        expect(s1.devices.map(d => d.index)).to.deep.equal(shardIndices(5, { k: 1, n: 2 }));
        const tu = tree(s2.top, s2.outdir, /^(summary|cn_dacs)-|^(master|pin_disc)\.csv$/);
        for (const [k, v] of tu) if (!k.startsWith("staging/")) expect(v, k).to.equal(ta.get(k));
        expect([...tu.keys()].filter(k => !k.startsWith("staging/")).sort()).to.deep.equal([...ta.keys()].filter(k => !k.startsWith("staging/")).sort());
    });

    it("--resume after a crash (a removed device, a leftover temp dir) gives the bytes of an uninterrupted run", async () => {
        const base = { seed: "resume", count: 4, attestation: "paa" as const, cert: join(root, "paa.pem"), key: join(root, "paa-key.pem") };
        const full = await runBatch(cfg(base), { cwd: root });
        const out = cfg().outdir;
        const first = await runBatch(cfg({ ...base, outdir: out }), { cwd: root });
        const victim = deviceDirs(first.top)[2]!;
        rmSync(join(first.top, victim), { recursive: true });
        mkdirSync(join(first.top, `.tmp-${victim}-99999`, "internal"), { recursive: true });
        writeFileSync(join(first.top, `.tmp-${victim}-99999`, "internal", "DAC_cert.der"), "partial");
        const again = await runBatch(cfg({ ...base, outdir: out, resume: true, jobs: 2 }), { cwd: root });
        expect(again.generated).to.equal(1);
        expect(again.resumed).to.equal(3);
        expect([...tree(again.top, again.outdir)]).to.deep.equal([...tree(full.top, full.outdir)]);
        // a plain rerun into the same seeded directory refuses to overwrite
        try {
            await runBatch(cfg({ ...base, outdir: out }), { cwd: root });
            expect.fail("expected EEXIST");
        } catch (e) {
            expect(e).to.be.instanceOf(DiagnosticError);
            expect((e as DiagnosticError).code).to.equal("EEXIST");
        }
        // --resume with other parameters is refused
        try {
            await runBatch(cfg({ ...base, outdir: out, resume: true, seed: "other" }), { cwd: root });
            expect.fail("expected a usage error");
        } catch (e) {
            expect((e as DiagnosticError).exitCode).to.equal(2);
        }
    });

    it("extra --csv/--mcsv keys land in their namespaces; mcsv rows set the count", async () => {
        writeFileSync(join(root, "extra.csv"), "chip-factory,namespace,\nfw-flags,data,u32\nmy-app,namespace,\ncolor,data,string\nblob,file,binary\n");
        writeFileSync(join(root, "b0.bin"), Buffer.from([1, 2, 3]));
        writeFileSync(join(root, "b1.bin"), Buffer.from([4, 5]));
        writeFileSync(join(root, "extra-values.csv"), "fw-flags,color,blob\n7,red,b0.bin\n9,\"bl,ue\",b1.bin\n");
        const r = await runBatch(cfg({ count: 1, csv: "extra.csv", mcsv: "extra-values.csv" }), { cwd: root });
        expect(r.count).to.equal(2);
        const got = r.devices.map(d => {
            const nvs = mountNvs(new Uint8Array(readFileSync(join(r.top, d.files.partition!))));
            return [nvs.getU32("chip-factory", "fw-flags"), nvs.getStr("my-app", "color"), [...nvs.getBlob("my-app", "blob")]];
        });
        expect(got).to.deep.equal([[7, "red", [1, 2, 3]], [9, "bl,ue", [4, 5]]]);
        const config = readFileSync(join(r.top, "staging/config.csv"), "utf8");
        expect(config).to.match(/cert-dclrn,file,binary\nfw-flags,data,u32\nmy-app,namespace,\ncolor,data,string\nblob,file,binary\n$/);
    });

    it("-cd: a file that is no CD, or a CD whose vendor_id / product_id_array the batch's -v/-p miss, is a warning naming the verdict; the batch is still written", async () => {
        expect(certificationDeclarationWarnings(pki.cd, { vendorId: VID, productId: PID })).to.deep.equal([]);
        const [notCd] = certificationDeclarationWarnings(new Uint8Array([0x30, 0x03, 0x02, 0x01]), { vendorId: VID, productId: PID });
        expect(notCd).to.match(/^not a Certification Declaration \(CMS SignedData\): .+; commissioners will reject these devices$/);
        const other = certificationDeclarationWarnings(pki.cd, { vendorId: 0xfff1, productId: 0x8005 });
        expect(other).to.have.length(2);
        expect(other[0]).to.contain("vendor_id 0xFFF2").and.contain("0xFFF1").and.contain("CertificationDeclarationInvalidVendorId");
        expect(other[1]).to.contain("0x8005").and.contain(`[0x${PID.toString(16).toUpperCase()}]`).and.contain("CertificationDeclarationInvalidProductId");

        writeFileSync(join(root, "junk-cd.der"), Buffer.from("not a CD"));
        const warnings: string[] = [];
        const r = await runBatch(cfg({ count: 1, certDclrn: "junk-cd.der" }), { cwd: root, onWarning: w => warnings.push(w) });
        expect(r.count).to.equal(1);
        expect(warnings).to.have.length(1);
        expect(warnings[0]).to.match(/^junk-cd\.der: not a Certification Declaration/);
    });

    it("a bad --mcsv value (not an integer, odd hex, a missing file) stops the batch before any device, naming the --mcsv line", async () => {
        writeFileSync(join(root, "check.csv"), "chip-factory,namespace,\nfw-flags,data,u32\nmy-app,namespace,\nmac,data,hex2bin\nblob,file,binary\n");
        writeFileSync(join(root, "b0.bin"), Buffer.from([1]));
        const cases: Array<[string, string, string]> = [
            ["7,00aa,b0.bin\n8,00bb,b0.bin\nx9,00cc,b0.bin\n", "ESP_ERR_INVALID_ARG", "fw-flags"],
            ["7,00aa,b0.bin\n8,0bb,b0.bin\n", "ESP_ERR_INVALID_ARG", "mac"],
            ["7,00aa,b0.bin\n8,00bb,gone.bin\n", "ENOENT", "gone.bin"],
        ];
        for (const [rows, code, mention] of cases) {
            writeFileSync(join(root, "check-values.csv"), `fw-flags,mac,blob\n${rows}`);
            const c = cfg({ count: 1, csv: "check.csv", mcsv: "check-values.csv" });
            const err = (await errorOf(() => runBatch(c, { cwd: root }))) as DiagnosticError;
            expect(err, rows).to.be.instanceOf(DiagnosticError);
            expect(err.code).to.equal(code);
            expect(err.message).to.contain(mention);
            expect(err.context).to.include({ file: "check-values.csv", line: rows.trim().split("\n").length + 1 });
            expect(existsSync(join(c.outdir, "fff2_8001")), "nothing written").to.equal(false);
        }
    });

    for (const jobs of [2, 3]) {
        it(`a device that fails mid-batch (an --mcsv file that is a directory), --jobs ${jobs}: one DiagnosticError, complete devices kept, no .tmp- directory`, async function () {
            this.timeout(60_000);
            writeFileSync(join(root, "fail.csv"), "my-app,namespace,\nblob,file,binary\n");
            // it exists when the --mcsv is checked up front, and only reading it fails (EISDIR), in device 25
            mkdirSync(join(root, "missing.bin"), { recursive: true });
            const rows = Array.from({ length: 40 }, (_, i) => (i === 25 ? "missing.bin" : "b0.bin"));
            writeFileSync(join(root, "fail-values.csv"), `blob\n${rows.join("\n")}\n`);
            writeFileSync(join(root, "b0.bin"), Buffer.from([1, 2, 3]));
            const c = cfg({ count: 1, csv: "fail.csv", mcsv: "fail-values.csv", jobs });
            // what a worker terminated in the middle of writing its device leaves behind (same process id)
            const top = join(c.outdir, "fff2_8001");
            mkdirSync(join(top, `.tmp-00000000-0000-4000-8000-000000000000-${process.pid}`, "internal"), { recursive: true });
            const err = await errorOf(() => runBatch(c, { cwd: root }));
            expect(err).to.be.instanceOf(DiagnosticError);
            expect((err as DiagnosticError).message).to.contain("missing.bin");
            const names = readdirSync(top);
            expect(names.filter(n => n.startsWith(".tmp-"))).to.deep.equal([]);
            for (const n of names.filter(n => /^[0-9a-f-]{36}$/.test(n))) {
                expect(readdirSync(join(top, n)).some(f => f.endsWith("-partition.bin")), n).to.equal(true);
            }
        });
    }

    for (const jobs of [2, 3]) {
        it(`an aborted batch (signal), --jobs ${jobs}: the devices in progress finish; batch files and manifest list the complete ones`, async function () {
            this.timeout(60_000);
            const c = cfg({ count: 40, jobs, seed: "abort" });
            const stop = new AbortController();
            const r = await runBatch(c, { cwd: root, signal: stop.signal, onProgress: done => void (done >= 5 && stop.abort()) });
            expect(r.interrupted).to.equal(true);
            expect(r.count).to.be.within(5, 39);
            const dirs = readdirSync(r.top).filter(n => /^[0-9a-f-]{36}$/.test(n)).sort();
            expect(r.devices.map(d => d.id).sort()).to.deep.equal(dirs);
            const manifest = JSON.parse(readFileSync(r.manifest, "utf8")) as { devices: Array<{ id: string }> };
            expect(manifest.devices.map(d => d.id).sort()).to.deep.equal(dirs);
            const summary = readFileSync(r.summaryCsv, "utf8").trim().split("\r\n");
            expect(summary).to.have.length(1 + r.count);
            expect(readdirSync(r.top).filter(n => n.startsWith(".tmp-"))).to.deep.equal([]);
        });
    }

    it("--dac-in-secure-cert: DAC, key and PAI go to esp_secure_cert, not NVS", async () => {
        const { getDacCert, getPaiCert, getMatterData } = await import("../../emulator/esp_secure_cert/index.js");
        const r = await runBatch(cfg({ count: 1, dacInSecureCert: true, commissionableDataInSecureCert: true }), { cwd: root });
        const d = r.devices[0]!;
        const sc = new Uint8Array(readFileSync(join(r.top, d.files.secureCert!)));
        expect(Buffer.from(getDacCert(sc)).equals(readFileSync(join(r.top, d.files.dacCert!)))).to.equal(true);
        expect(Buffer.from(getPaiCert(sc)).equals(Buffer.from(pki.pai.der))).to.equal(true);
        expect(getMatterData(sc, 0)).to.equal(d.discriminator);
        expect(getMatterData(sc, 4)).to.have.length(16); // rd-id-uid travels with the commissionable data, as in mfg_tool
        expect(getMatterData(sc, 128)).to.have.length(32);
        const keys = mountNvs(new Uint8Array(readFileSync(join(r.top, d.files.partition!)))).entries().map(e => e.key);
        for (const k of ["dac-cert", "dac-key", "pai-cert", "discriminator", "verifier", "salt", "rd-id-uid"]) expect(keys).not.to.include(k);
        expect(keys).to.include("serial-num");
    });

    it("--enable-dynamic-passcode and --no-bin: no verifier, no onboarding codes, no binaries", async () => {
        const r = await runBatch(cfg({ count: 1, dynamicPasscode: true }), { cwd: root });
        const d = r.devices[0]!;
        expect(d.qrCode).to.equal(null);
        expect(d.files.onboardingCodes).to.equal(undefined);
        const keys = mountNvs(new Uint8Array(readFileSync(join(r.top, d.files.partition!)))).entries().map(e => e.key);
        expect(keys).to.include("salt").and.not.to.include("verifier");
        expect(readFileSync(join(r.top, "staging/pin_disc.csv"), "utf8").split("\n")[0]).to.equal("Index,Iteration Count,Salt,Discriminator");
        const nb = await runBatch(cfg({ count: 1, generateBin: false, encrypt: true }), { cwd: root });
        const files = readdirSync(join(nb.top, nb.devices[0]!.id));
        expect(files.some(f => f.endsWith(".bin"))).to.equal(false);
        expect(existsSync(join(nb.top, nb.devices[0]!.files.partitionCsv))).to.equal(true);
    });

    it("rejects what mfg_tool lets through: passcode 123456789, bad dates, --salt without --passcode", () => {
        for (const bad of [{ passcode: 123456789 }, { passcode: 11111111 }, { passcode: 0 }, { salt: "AAAAAAAAAAAAAAAAAAAAAA==" }, { discriminator: 0x1000 }, { count: 2, serialNum: "x" }]) {
            expect(() => validateConfig(cfg({ count: 1, ...bad })), JSON.stringify(bad)).to.throw(DiagnosticError).with.property("exitCode", 2);
        }
        expect(normalizeMfgDate("20240601")).to.equal("20240601");
        expect(normalizeMfgDate("2024-06-01")).to.equal("20240601");
        expect(normalizeMfgDate("2024-06-01ABC")).to.equal("20240601ABC");
        for (const bad of ["2024-13-01", "20240230", "2024/06/01", "2024-0601", "24-06-01", "2024-06-01123456789"]) {
            expect(() => normalizeMfgDate(bad), bad).to.throw(DiagnosticError);
        }
        fc.assert(fc.property(fc.string(), s => {
            try {
                normalizeMfgDate(s);
            } catch (e) {
                return e instanceof DiagnosticError;
            }
            return true;
        }), { numRuns: 300 });
    });
});

describe("mfg_tool: building blocks", () => {
    it("rewrites argparse-style short flags, exact tokens only", () => {
        expect(rewriteMfgArgv(["-cd", "x.der", "-lt", "10", "-vf=2024-01-01", "-cn", "A", "-cf", "1", "-dm", "6", "-c", "p.pem", "-cdx", "--", "-cd"])).to.deep.equal(
            ["--cert-dclrn", "x.der", "--lifetime", "10", "--valid-from=2024-01-01", "--cn-prefix", "A", "--commissioning-flow", "1", "--discovery-mode", "6", "-c", "p.pem", "-cdx", "--", "-cd"],
        );
    });

    it("CSV parser takes arbitrary text without throwing", () => {
        fc.assert(fc.property(fc.string({ unit: "binary" }), s => Array.isArray(parseCsv(s))), { numRuns: 300 });
    });

    it("CSV writer round-trips through the parser (Python csv.writer quoting)", () => {
        fc.assert(fc.property(fc.array(fc.array(fc.string({ minLength: 1 }), { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 5 }), rows => {
            expect(parseCsv(csvDocument(rows))).to.deep.equal(rows);
        }), { numRuns: 200 });
    });

    it("QR matrix: the same modules (mask choice included) as qrcode's own encoder", async () => {
        const QRCode = (await import("qrcode")).default;
        const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-.";
        fc.assert(fc.property(fc.array(fc.constantFrom(...alphabet), { minLength: 19, maxLength: 60 }), chars => {
            const text = "MT:" + chars.join("");
            const ref = QRCode.create([{ data: text, mode: "alphanumeric" }], { errorCorrectionLevel: "M", version: text.length <= 20 ? 2 : undefined });
            const mine = qrMatrix(text);
            expect(mine.size).to.equal(ref.modules.size);
            expect([...mine.modules]).to.deep.equal(Array.from(ref.modules.data as unknown as ArrayLike<number>, x => (x ? 1 : 0)));
        }), { numRuns: 60 });
    });

    it("QR labels: the SVG decodes with jsQR for payloads of every length class", () => {
        for (const text of ["MT:Y.K9042C00KA0648G00", "MT:-24J0AFN00KA064IJ3P0IXZB0DK5N1K8SQ1RYCU1O0"]) {
            expect(decodeSvg(qrSvg(qrMatrix(text)))).to.equal(text);
        }
    });
});

describeWithVectors("mfg_tool: chip-factory layout vs nvs_partition_gen (11_matter_chip_factory)", "nvs/11_matter_chip_factory", dir => {
    it("the same values give the vector's CSV rows and NVS bytes (plain and encrypted)", () => {
        const input = readFileSync(join(dir, "input.csv"), "utf8");
        const value = (key: string): string => parseCsv(input).find(r => r[0] === key)![3]!;
        const file = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, "files", name)));
        const c = cfg({
            count: 1, vendorName: value("vendor-name"), productName: value("product-name"), hwVer: 1, hwVerStr: "v1.0", mfgDate: normalizeMfgDate("2024-06-01"),
            enableRotatingDeviceId: true, productFinish: 2, productColor: 11, partNumber: "PN-42", calendarTypes: ["Gregorian", "Japanese"],
            locales: ["en-US", "de-DE"], fixedLabels: ["0/orientation/up", "1/room/kitchen"], productLabel: "Lbl", productUrl: "https://example.com/p",
        });
        const rows = factoryRows(c, {
            discriminator: 3840, iterationCount: 10000, saltB64: value("salt"), verifierB64: value("verifier"), serialNum: "SN0001",
            rdIdUidHex: "00112233445566778899aabbccddeeff",
            dac: {
                certDer: file("DAC_cert.der"), privateKey: file("DAC_private_key.bin"), publicKey: file("DAC_public_key.bin"), paiDer: file("PAI_cert.der"),
                certPath: "files/DAC_cert.der", privateKeyPath: "files/DAC_private_key.bin", publicKeyPath: "files/DAC_public_key.bin", paiPath: "files/PAI_cert.der",
            },
            cd: { bytes: file("CD.der"), path: "files/CD.der" },
        });
        expect(csvDocument(partitionCsvRows(rows), "\n")).to.equal(input.replace(/\r\n/g, "\n"));
        const image = nvsImage(rows, 0x6000);
        expect(Buffer.from(image).equals(readFileSync(join(dir, "nvs.bin")))).to.equal(true);
        const keys = decodeNvsKeys(readFileSync(join(dir, "nvs_keys.bin")));
        expect(Buffer.from(nvsImage(rows, 0x6000, keys)).equals(readFileSync(join(dir, "nvs_encr.bin")))).to.equal(true);
        // the passcode (20202021) matches the vector's verifier
        expect(verifyPasscodeAgainstVerifier(20202021, Buffer.from(value("salt"), "base64"), 10000, Buffer.from(value("verifier"), "base64"))).to.equal(true);
    });
});

describe("generate: a device that cannot be written leaves nothing behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "mfgsim-write-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const top = join(dir, "fff2_8001");
    mkdirSync(join(top, "staging"), { recursive: true });
    const ctx: BatchContext = {
        config: cfg({ outdir: dir, attestation: "pai" }),
        top,
        notBefore: new Date().toISOString(),
        notAfter: new Date(Date.now() + 86_400_000).toISOString(),
        cwd: dir,
        journal: join(top, "staging", "mfgsim-journal.jsonl"),
    };

    it("a failing file write (here: a missing subdirectory) → DiagnosticError naming the file; no .tmp- directory, no device directory, no journal line", async () => {
        const dev = finishDevice(ctx, prepare(ctx), planDevice(ctx, 0), new Uint8Array(97));
        dev.files.splice(3, 0, { rel: `${dev.uuid}/missing/file.bin`, data: new Uint8Array(4), mode: 0o644 });
        const fd = openJournal(ctx.journal);
        const err = await errorOf(() => writeDevice(ctx, dev, fd));
        closeJournal(fd);
        expect(err).to.be.instanceOf(DiagnosticError);
        expect((err as DiagnosticError).code).to.equal("ENOENT");
        expect((err as DiagnosticError).context.file).to.equal(join(top, dev.uuid, "missing", "file.bin"));
        expect((err as DiagnosticError).message).to.contain("--resume");
        expect(readdirSync(top)).to.deep.equal(["staging"]);
        expect(readFileSync(ctx.journal, "utf8")).to.equal("");
    });

    it("a journal line cut short (crash, full disk) does not swallow the next device's line", () => {
        const journal = join(dir, "torn.jsonl");
        writeFileSync(journal, '{"index":0,"uuid":"a"}\n{"index":1,"uu');
        const fd = openJournal(journal);
        writeFileSync(fd, '{"index":2,"uuid":"c"}\n');
        closeJournal(fd);
        const lines = readFileSync(journal, "utf8").split("\n");
        expect(lines).to.deep.equal(['{"index":0,"uuid":"a"}', '{"index":1,"uu', '{"index":2,"uuid":"c"}', ""]);
    });
});

describe("generate: batches larger than one string", () => {
    const dir = mkdtempSync(join(tmpdir(), "mfgsim-big-"));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("prettyJsonChunks joins to exactly JSON.stringify(…, null, 2) + newline, in one piece or many (property)", () => {
        const item = fc.record({ index: fc.nat(), id: fc.string(), qr: fc.option(fc.string()), files: fc.dictionary(fc.string({ maxLength: 5 }), fc.string()) });
        fc.assert(
            fc.property(fc.record({ tool: fc.string(), count: fc.nat(), seeded: fc.boolean() }), fc.array(item, { maxLength: 60 }), fc.integer({ min: 1, max: 70 }), (head, items, chunk) => {
                expect([...prettyJsonChunks(head, "devices", items, chunk)].join("")).to.equal(JSON.stringify({ ...head, devices: items }, null, 2) + "\n");
            }),
            { numRuns: 40 },
        );
    });

    it("journalLines / countLines read any file in blocks, lines crossing block ends and multi-byte UTF-8 included (property)", () => {
        let k = 0;
        fc.assert(
            fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 40 }).map(x => x.replace(/\n/g, " ")), { maxLength: 30 }), fc.boolean(), fc.integer({ min: 1, max: 64 }), (lines, trailing, block) => {
                const path = join(dir, `j${k++}.jsonl`);
                const text = lines.join("\n") + (trailing && lines.length ? "\n" : "");
                writeFileSync(path, text);
                // every newline-terminated line, and what follows the last newline when it is not empty
                const expected = text.split("\n");
                if (expected.at(-1) === "") expected.pop();
                expect([...journalLines(path, block)]).to.deep.equal(expected);
                expect(countLines(path, block)).to.deep.equal({ lines: (text.match(/\n/g) ?? []).length, endsWithNewline: text.length === 0 || text.endsWith("\n") });
            }),
            { numRuns: 150 },
        );
    });

    it("a batch too big for this Node's heap is refused before anything is written, naming --count and --shard", async () => {
        const outdir = join(dir, "huge");
        const err = await errorOf(() => runBatch(cfg({ count: 10_000_000, outdir }), { cwd: root }));
        expect(err).to.be.instanceOf(DiagnosticError);
        expect((err as DiagnosticError).context.field).to.equal("--count");
        expect((err as DiagnosticError).message).to.match(/--shard k\/n/);
        expect(existsSync(outdir)).to.equal(false);
    });
});
