/**
 * Per-phase CPU cost of one `generate` device on one thread (µs/device, after warm-up): what the overhead on top
 * of PBKDF2 is made of. `npx tsx bench/phases.ts [--n 2000]`. Writes under /dev/shm (or the OS temp dir).
 */
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeNvsKeys, encryptImage } from "../emulator/nvs/index.js";
import { buildDevice, closeJournal, nvsImage, openJournal, prepare, writeDevice, type BatchContext } from "../harness/mfg_tool/device.js";
import { csvDocument } from "../harness/mfg_tool/csvfmt.js";
import { factoryRows, partitionCsvRows } from "../harness/mfg_tool/factory.js";
import type { MfgConfig } from "../harness/mfg_tool/options.js";
import { qrMatrix, qrPng, qrSvg } from "../harness/mfg_tool/qrlabel.js";
import { deviceRng } from "../harness/mfg_tool/rng.js";
import { generateOnboardingCodes } from "../harness/onboarding/index.js";
import { issueDac, issuePaa, issuePai } from "../harness/pki/issue.js";
import { pem, pkcs8Der, randomKey, sec1Der } from "../harness/pki/keys.js";
import { verifierFromWs } from "../harness/spake2p/verifier.js";

const nArg = process.argv.indexOf("--n");
const N = nArg >= 0 ? Number(process.argv[nArg + 1]) : 2000;
const ITER = 1000;
const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
const dir = mkdtempSync(join(base, "mfgsim-phases-"));

function cpu<T>(name: string, n: number, f: (i: number) => T): number {
    for (let i = 0; i < Math.min(200, n); i++) f(i); // warm-up
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) f(i);
    const c = process.cpuUsage(c0);
    const us = (c.user + c.system) / n;
    console.log(`  ${name.padEnd(34)} ${us.toFixed(1).padStart(8)} µs/device  (sys ${(c.system / n).toFixed(1)})`);
    return us;
}

try {
    const paa = issuePaa({ vid: 0xfff2 });
    const pai = issuePai({ vid: 0xfff2, pid: 0x8001, issuer: { cert: paa.cert, key: paa.key } });
    const config = {
        count: N, target: "esp32", size: 0x6000, encrypt: true, outdir: join(dir, "out"), generateBin: true, secureCertBin: true,
        commissioningFlow: 0, discoveryMode: 2, dynamicPasscode: false, iterationCount: ITER,
        commissionableDataInSecureCert: false, dacInSecureCert: false, rdIdUidInSecureCert: false,
        lifetimeDays: 36500, cnPrefix: "ESP32", attestation: "pai", vendorId: 0xfff2, productId: 0x8001,
        vendorName: "Bench Vendor", productName: "Bench Product", enableRotatingDeviceId: false, jobs: 1, resume: false, svg: true,
    } as MfgConfig;
    const top = join(dir, "out", "fff2_8001");
    mkdirSync(top, { recursive: true });
    const ctx: BatchContext = {
        config, top, notBefore: "2024-01-01T00:00:00Z", notAfter: "2124-01-01T00:00:00Z",
        pai: { certDer: pai.der, keyScalar: pai.key.privateKey, path: join(top, "staging", "pai_cert.der") },
        cwd: dir, journal: join(dir, "journal.jsonl"),
    };
    const prep = prepare(ctx);
    console.log(`generate phases, one thread, ${N} devices (PBKDF2 at ${ITER} iterations, subtracted):`);
    const pb = cpu(`pbkdf2Sync ${ITER} it × 80 B`, N, i => pbkdf2Sync(Buffer.of(i & 0xff, 1, 2, 3), randomBytes(32), ITER, 80, "sha256"));
    const build = cpu("buildDevice (incl. PBKDF2)", N, i => buildDevice(ctx, prep, i));
    const fd = openJournal(ctx.journal);
    const both = cpu("buildDevice + writeDevice", N, i => writeDevice(ctx, buildDevice(ctx, prep, N + 200 + i), fd));
    closeJournal(fd);
    console.log(`  → overhead: build − PBKDF2 ${(build - pb).toFixed(1)}, + write ${(both - pb).toFixed(1)} µs/device`);
    console.log("parts:");
    const ws = Array.from({ length: N + 200 }, () => new Uint8Array(randomBytes(80)));
    cpu("verifierFromWs (L = w1·G)", N, i => verifierFromWs(ws[i]!));
    cpu("randomKey", N, () => randomKey());
    const key = randomKey();
    cpu("issueDac", N, i => issueDac({ key, issuer: { cert: prep.pai!.cert, key: prep.pai!.key }, vid: 0xfff2, pid: 0x8001, commonName: `dev-${i}`, notBefore: new Date(ctx.notBefore), notAfter: new Date(ctx.notAfter) }).der);
    const issued = issueDac({ key, issuer: { cert: prep.pai!.cert, key: prep.pai!.key }, vid: 0xfff2, pid: 0x8001, commonName: "x", notBefore: new Date(ctx.notBefore), notAfter: new Date(ctx.notAfter) });
    cpu("DAC pem + pkcs8/sec1 + key pem", N, () => [pem("CERTIFICATE", issued.der), pem("PRIVATE KEY", pkcs8Der(key)), sec1Der(key)]);
    const rowsOf = (): ReturnType<typeof factoryRows> => factoryRows(config, {
        discriminator: 1234, iterationCount: ITER, saltB64: Buffer.from(randomBytes(32)).toString("base64"), verifierB64: Buffer.from(randomBytes(97)).toString("base64"),
        serialNum: randomBytes(16).toString("hex"),
        dac: { certDer: issued.der, privateKey: key.privateKey, publicKey: key.publicKey, paiDer: pai.der, certPath: "/a/DAC_cert.der", privateKeyPath: "/a/k.bin", publicKeyPath: "/a/p.bin", paiPath: "/a/pai.der" },
    });
    cpu("factoryRows", N, rowsOf);
    const rows = rowsOf();
    const keys = { eky: new Uint8Array(randomBytes(32)), tky: new Uint8Array(randomBytes(32)) };
    cpu("nvsImage plain", N, () => nvsImage(rows, 0x6000));
    const plain = nvsImage(rows, 0x6000);
    cpu("encryptImage", N, () => encryptImage(plain, keys));
    cpu("encodeNvsKeys", N, () => encodeNvsKeys(keys));
    cpu("deviceRng + draws", N, i => { const r = deviceRng(undefined, i); r.bytes("uuid", 16); r.bytes("salt", 32); r.bytes("serial", 16); r.bytes("p", 4); r.bytes("d", 4); r.bytes("k", 64); });
    cpu("onboarding codes", N, i => generateOnboardingCodes({ vendorId: 0xfff2, productId: 0x8001, passcode: 20202021 + i, discriminator: i & 0xfff, commissioningFlow: 0, discoveryCapabilities: 2 }));
    const qrs = Array.from({ length: N + 200 }, (_, i) => generateOnboardingCodes({ vendorId: 0xfff2, productId: 0x8001, passcode: 20202021 + i, discriminator: i & 0xfff, commissioningFlow: 0, discoveryCapabilities: 2 }).qrCode);
    cpu("qrMatrix", N, i => qrMatrix(qrs[i]!));
    const m = qrMatrix(qrs[0]!);
    cpu("qrPng", N, () => qrPng(m));
    cpu("qrSvg", N, () => qrSvg(m));
    cpu("partition.csv text", N, () => csvDocument(partitionCsvRows(rows)));
    const dev = buildDevice(ctx, prep, 0);
    cpu("journal line (JSON)", N, () => JSON.stringify(dev.journal));
} finally {
    rmSync(dir, { recursive: true, force: true });
}
