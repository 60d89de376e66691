/**
 * One device of a batch, built in memory (pure apart from reading --mcsv file rows): randomness from
 * (seed, index), SPAKE2+ verifier, DAC, NVS partition (+ keys partition), esp_secure_cert, onboarding codes
 * and QR labels, the CSV rows and the manifest record. `writeDevice` then writes it into a temp directory and
 * renames it into place, so a crash never leaves a partial device directory.
 */
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { fsReason } from "../cli/io.js";
import { encodeSecureCert, matterSecureCertEntries } from "../../emulator/esp_secure_cert/index.js";
import { NvsImageCache, encodeNvsKeys, resolveNvsRows, type GenerateOptions, type NvsItem, type NvsKeys } from "../../emulator/nvs/index.js";
import { generateOnboardingCodes } from "../onboarding/index.js";
import { issueDac } from "../pki/issue.js";
import { type P256Key, SeededRng, keyFromScalar, pem, pkcs8Der, randomKey, sec1Der } from "../pki/keys.js";
import { type Certificate, parseCertificate, skidOf } from "../pki/x509.js";
import { csvDocument } from "./csvfmt.js";
import { factoryRows, partitionCsvRows, type DacFiles, type FactoryRow, type DeviceFactoryValues } from "./factory.js";
import type { MfgConfig } from "./options.js";
import { qrMatrix, qrPng, qrSvgBytes } from "./qrlabel.js";
import { deviceRng, randomDiscriminator, randomPasscode, randomUuid, type Rng } from "./rng.js";
import { generateVerifier } from "../spake2p/verifier.js";

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export interface ExtraSchemaRow {
    namespace: string;
    key: string;
    type: "data" | "file";
    encoding: string;
}

/** Everything a worker needs, structured-clone friendly. */
export interface BatchContext {
    config: MfgConfig;
    /** Absolute `<outdir>/<vid>_<pid>`. */
    top: string;
    seed?: Uint8Array;
    notBefore: string;
    notAfter: string;
    pai?: { certDer: Uint8Array; keyScalar: Uint8Array; path: string };
    dacGiven?: { certDer: Uint8Array; keyScalar: Uint8Array };
    cd?: { bytes: Uint8Array; path: string };
    extraSchema?: ExtraSchemaRow[];
    mcsvRows?: Array<Record<string, string>>;
    cwd: string;
    fixedUuid?: string;
    /** Absolute path of the journal (one JSON line per completed device). */
    journal: string;
}

/** Per-thread state derived once from the context (keys parsed, certificates decoded). */
export interface Prepared {
    pai?: { cert: Certificate; key: P256Key; der: Uint8Array; path: string };
    dacGiven?: { der: Uint8Array; key: P256Key };
    /** ctx.notBefore / ctx.notAfter parsed once, not per DAC. */
    notBefore: Date;
    notAfter: Date;
}

export function prepare(ctx: BatchContext): Prepared {
    const p: Prepared = { notBefore: new Date(ctx.notBefore), notAfter: new Date(ctx.notAfter) };
    if (ctx.pai) p.pai = { cert: parseCertificate(ctx.pai.certDer), key: keyFromScalar(ctx.pai.keyScalar), der: ctx.pai.certDer, path: ctx.pai.path };
    if (ctx.dacGiven) p.dacGiven = { der: ctx.dacGiven.certDer, key: keyFromScalar(ctx.dacGiven.keyScalar) };
    return p;
}

export interface DeviceFiles {
    partition?: string;
    keysPartition?: string;
    secureCert?: string;
    onboardingCodes?: string;
    qrPng?: string;
    qrSvg?: string;
    dacCert?: string;
    paiCert?: string;
    partitionCsv: string;
}

/** One manifest.json record: no passcode, no keys. */
export interface ManifestRecord {
    index: number;
    id: string;
    serial: string;
    vendorId: number;
    productId: number;
    discriminator: number;
    qrCode: string | null;
    manualCode: string | null;
    /** Paths relative to the manifest's directory. */
    files: DeviceFiles;
    dacSkid: string | null;
}

/** What the batch needs from a device afterwards (one journal line). */
export interface DeviceJournal {
    index: number;
    uuid: string;
    passcode: number | null;
    discriminator: number;
    iterationCount: number;
    salt: string;
    verifier: string | null;
    qrCode: string | null;
    /** mfg_tool's formatted manual code (4-3-4, or two lines for flows 1/2). */
    manualCodeFormatted: string | null;
    /** master.csv values, in the key order of the batch. */
    master: string[];
    cnDac: [string, string] | null;
    /** Hex, when it lives in esp_secure_cert (summary column). */
    rdIdUid: string | null;
    record: ManifestRecord;
}

interface OutFile {
    rel: string;
    data: Uint8Array | string;
    mode: number;
}

export interface BuiltDevice {
    uuid: string;
    files: OutFile[];
    journal: DeviceJournal;
}

/** mfg_tool's manual code layout: 4-3-4 for the standard flow, `4-3-4\n4-3-2-1` (21 digits) otherwise. */
export function formatManualCodeMfg(digits: string): string {
    if (digits.length === 11) return `${digits.slice(0, 4)}-${digits.slice(4, 7)}-${digits.slice(7)}`;
    return `${digits.slice(0, 4)}-${digits.slice(4, 7)}-${digits.slice(7, 11)}\n${digits.slice(11, 15)}-${digits.slice(15, 18)}-${digits.slice(18, 20)}-${digits.slice(20, 21)}`;
}

function seededScalar(rng: Rng, purpose: string): Uint8Array {
    for (let attempt = 0; ; attempt++) {
        const d = rng.bytes(`${purpose}#${attempt}`, 32);
        const n = BigInt("0x" + Buffer.from(d).toString("hex"));
        if (n !== 0n && n < P256_N) return d;
    }
}

// views, not copies, of the bytes
const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

function extraRows(ctx: BatchContext, index: number): FactoryRow[] | undefined {
    if (!ctx.extraSchema) return undefined;
    const values = ctx.mcsvRows?.[index];
    if (!values) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `--mcsv has no row for device ${index}`, { file: ctx.config.mcsv, line: index + 2 });
    return ctx.extraSchema.map(s => {
        const value = values[s.key];
        if (value === undefined) {
            throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `--mcsv has no column '${s.key}' (declared in --csv)`, { file: ctx.config.mcsv, field: s.key });
        }
        if (s.type !== "file") return { ...s, value };
        const path = resolve(ctx.cwd, value);
        let bytes: Uint8Array;
        try {
            bytes = new Uint8Array(readFileSync(path));
        } catch {
            throw new DiagnosticError("ENOENT", `cannot read file '${value}' of key '${s.key}'`, { file: ctx.config.mcsv, line: index + 2, field: s.key });
        }
        return { ...s, value, bytes };
    });
}

/**
 * The first part of a device: its identity and the SPAKE2+ inputs (everything the PBKDF2 needs). The pool
 * starts the PBKDF2 of the next devices from these while it finishes earlier ones (see pool.ts).
 */
export interface DevicePlan {
    index: number;
    rng: Rng;
    uuid: string;
    /** undefined with --enable-dynamic-passcode: no verifier, no PBKDF2. */
    passcode: number | undefined;
    discriminator: number;
    salt: Uint8Array;
    serialNum: string;
    rdIdUid: string | undefined;
}

/** Randomness of one device up to the PBKDF2 inputs (same draws, same order as a whole build). */
export function planDevice(ctx: BatchContext, index: number): DevicePlan {
    const c = ctx.config;
    const rng = deviceRng(ctx.seed, index);
    const uuid = ctx.fixedUuid ?? randomUuid(rng);
    const passcode = c.dynamicPasscode ? undefined : (c.passcode ?? randomPasscode(rng));
    const discriminator = c.discriminator ?? randomDiscriminator(rng);
    const salt = c.salt !== undefined ? new Uint8Array(Buffer.from(c.salt, "base64")) : rng.bytes("salt", 32);
    const serialNum = c.serialNum ?? hex(rng.bytes("serial", 16));
    // mfg_tool puts a rotating device id unique id into esp_secure_cert with the commissionable data (random unless given)
    const rdIdUid = c.enableRotatingDeviceId || c.rdIdUid !== undefined || c.rdIdUidInSecureCert ? (c.rdIdUid?.toLowerCase() ?? hex(rng.bytes("rd-id-uid", 16))) : undefined;
    return { index, rng, uuid, passcode, discriminator, salt, serialNum, rdIdUid };
}

/** Builds one device in memory (PBKDF2 on this thread). */
export function buildDevice(ctx: BatchContext, prep: Prepared, index: number): BuiltDevice {
    const plan = planDevice(ctx, index);
    const verifier = plan.passcode === undefined ? undefined : generateVerifier(plan.passcode, plan.salt, ctx.config.iterationCount).verifier;
    return finishDevice(ctx, prep, plan, verifier);
}

/**
 * The rest of a device once its SPAKE2+ verifier (w0 ‖ L, 97 bytes) is known; `verifier` undefined without a
 * passcode. Split in parts (DAC, partitions, labels) that V8 optimizes separately: as one function it was the
 * largest optimizing compile of every fresh `generate`.
 */
export function finishDevice(ctx: BatchContext, prep: Prepared, plan: DevicePlan, verifier: Uint8Array | undefined): BuiltDevice {
    const c = ctx.config;
    const { index, rng, uuid, passcode, discriminator, salt, serialNum, rdIdUid } = plan;
    const out: DeviceOut = { uuid, files: [], deviceFiles: { partitionCsv: `${uuid}/internal/partition.csv` } };
    const dac = prep.pai ? deviceDac(ctx, prep, prep.pai, plan, out) : undefined;
    const saltB64 = b64(salt);
    const verifierB64 = verifier ? b64(verifier) : undefined;
    // optional values set one by one: object spreads here made this once-per-device function one of the costliest
    // for TurboFan to compile (a cold `generate` spends ≈ 0.15 ms per device of 1000 in the compiler threads)
    const values: DeviceFactoryValues = { discriminator, iterationCount: c.iterationCount, saltB64, serialNum };
    if (verifierB64 !== undefined) values.verifierB64 = verifierB64;
    if (rdIdUid !== undefined) values.rdIdUidHex = rdIdUid;
    if (dac) values.dac = dac.files;
    if (ctx.cd) values.cd = ctx.cd;
    if (ctx.extraSchema) values.extra = extraRows(ctx, index)!;
    const rows = factoryRows(c, values);
    out.files.push({ rel: out.deviceFiles.partitionCsv, data: csvDocument(partitionCsvRows(rows)), mode: 0o644 });
    if (c.generateBin) devicePartitions(ctx, rows, rng, dac, out);
    if (c.secureCertBin && c.dacInSecureCert && dac && prep.pai) deviceSecureCert(ctx, prep.pai, plan, dac, verifier, out);
    const labels = passcode !== undefined ? deviceLabels(ctx, plan, passcode, out) : undefined;

    const record: ManifestRecord = {
        index,
        id: uuid,
        serial: serialNum,
        vendorId: c.vendorId,
        productId: c.productId,
        discriminator,
        qrCode: labels?.qrCode ?? null,
        manualCode: labels?.manualDigits ?? null,
        files: out.deviceFiles,
        dacSkid: dac?.skid ? hex(dac.skid).toUpperCase() : null,
    };
    const journal: DeviceJournal = {
        index,
        uuid,
        passcode: passcode ?? null,
        discriminator,
        iterationCount: c.iterationCount,
        salt: saltB64,
        verifier: verifierB64 ?? null,
        qrCode: labels?.qrCode ?? null,
        manualCodeFormatted: labels?.manualFormatted ?? null,
        master: rows.map(r => r.value),
        // cn_dacs-*.csv: the DAC subject CN (mfg_tool skips a DAC without one)
        cnDac: dac?.pem && dac.cn ? [dac.cn, dac.pem] : null,
        rdIdUid: c.rdIdUidInSecureCert ? (rdIdUid ?? null) : null,
        record,
    };
    return { uuid, files: out.files, journal };
}

/** What the parts of finishDevice add to: the files to write and their manifest names. */
interface DeviceOut {
    uuid: string;
    files: OutFile[];
    deviceFiles: DeviceFiles;
}

interface DeviceDac {
    files: DacFiles;
    key: P256Key;
    der: Uint8Array;
    pem: string;
    skid: Uint8Array | undefined;
    /** Subject CN (the device UUID unless --dac-cert gave another). */
    cn: string | undefined;
}

/** The DAC (issued by the PAI, or the one --dac-cert gave) and its internal/ files. */
function deviceDac(ctx: BatchContext, prep: Prepared, pai: NonNullable<Prepared["pai"]>, plan: DevicePlan, out: DeviceOut): DeviceDac {
    const c = ctx.config;
    const { rng, uuid } = plan;
    let key: P256Key;
    let der: Uint8Array;
    let pemText: string;
    let skid: Uint8Array | undefined;
    let cn: string | undefined = uuid;
    if (prep.dacGiven) {
        key = prep.dacGiven.key;
        der = prep.dacGiven.der;
        pemText = pem("CERTIFICATE", der);
        const given = parseCertificate(der);
        skid = skidOf(given);
        cn = given.subject.find(a => a.oid === "2.5.4.3")?.text;
    } else {
        key = rng.seeded ? keyFromScalar(seededScalar(rng, "dac-key")) : randomKey();
        const options: Parameters<typeof issueDac>[0] = {
            key,
            issuer: pai, // the same object for every DAC: issue.ts caches the issuer's SKID and the DAC template by it
            vid: c.vendorId,
            pid: c.productId,
            commonName: uuid,
            notBefore: prep.notBefore,
            notAfter: prep.notAfter,
        };
        if (rng.seeded) options.rng = new SeededRng(rng.bytes("dac-cert", 32)); // (no object spread on this per-device path: see finishDevice)
        const issued = issueDac(options);
        der = issued.der;
        pemText = issued.pem;
        skid = issued.skid ?? skidOf(issued.cert);
    }
    const internal = `${ctx.top}/${uuid}/internal`;
    const files: DacFiles = {
        certDer: der,
        privateKey: key.privateKey,
        publicKey: key.publicKey,
        paiDer: pai.der,
        certPath: `${internal}/DAC_cert.der`,
        privateKeyPath: `${internal}/DAC_private_key.bin`,
        publicKeyPath: `${internal}/DAC_public_key.bin`,
        paiPath: pai.path,
    };
    const rel = (name: string): string => `${uuid}/internal/${name}`;
    out.files.push(
        { rel: rel("DAC_cert.der"), data: der, mode: 0o644 },
        { rel: rel("DAC_cert.pem"), data: pemText, mode: 0o644 },
        { rel: rel("DAC_key.der"), data: sec1Der(key), mode: 0o600 },
        { rel: rel("DAC_key.pem"), data: pem("PRIVATE KEY", pkcs8Der(key)), mode: 0o600 },
        { rel: rel("DAC_private_key.bin"), data: key.privateKey, mode: 0o600 },
        { rel: rel("DAC_public_key.bin"), data: key.publicKey, mode: 0o644 },
        { rel: rel("PAI_cert.der"), data: pai.der, mode: 0o644 },
    );
    out.deviceFiles.dacCert = rel("DAC_cert.der");
    out.deviceFiles.paiCert = rel("PAI_cert.der");
    return { files, key, der, pem: pemText, skid, cn };
}

/** The chip-factory NVS partition (encrypted with -e, plus its nvs_keys partition). */
function devicePartitions(ctx: BatchContext, rows: readonly FactoryRow[], rng: Rng, dac: DeviceDac | undefined, out: DeviceOut): void {
    const c = ctx.config;
    const keys: NvsKeys | undefined = !c.encrypt
        ? undefined
        : rng.seeded
          ? { eky: rng.bytes("nvs-eky", 32), tky: rng.bytes("nvs-tky", 32) }
          : nvsKeysFrom(rng.bytes("nvs-keys", 64));
    const image = nvsImage(rows, c.size, keys);
    const holdsKey = dac !== undefined && !c.dacInSecureCert;
    const name = `${out.uuid}/${out.uuid}-partition.bin`;
    out.files.push({ rel: name, data: image, mode: holdsKey ? 0o600 : 0o644 });
    out.deviceFiles.partition = name;
    if (keys) {
        const keysName = `${out.uuid}/${out.uuid}-keys-partition.bin`;
        out.files.push({ rel: keysName, data: encodeNvsKeys(keys), mode: 0o600 });
        out.deviceFiles.keysPartition = keysName;
    }
}

function nvsKeysFrom(k: Uint8Array): NvsKeys {
    return { eky: k.subarray(0, 32), tky: k.subarray(32) };
}

/** esp_secure_cert partition (--dac-in-secure-cert; with the commissionable data when asked). */
function deviceSecureCert(ctx: BatchContext, pai: NonNullable<Prepared["pai"]>, plan: DevicePlan, dac: DeviceDac, verifier: Uint8Array | undefined, out: DeviceOut): void {
    const c = ctx.config;
    const { rng, discriminator, salt, rdIdUid } = plan;
    const inSc = c.commissionableDataInSecureCert;
    const sc = encodeSecureCert(
        matterSecureCertEntries({
            dacCert: dac.der,
            dacKey: sec1Der(dac.key),
            paiCert: pai.der,
            ...(inSc ? { discriminator, salt, iterationCount: c.iterationCount, ...(verifier ? { verifier } : {}) } : {}),
            ...(inSc && c.rdIdUidInSecureCert && rdIdUid !== undefined ? { rdIdUid: new Uint8Array(Buffer.from(rdIdUid, "hex")) } : {}),
            // mfg_tool adds two 32-byte random entries (subtypes 128, 129) with the commissionable data
            ...(inSc ? { randomEntries: [rng.bytes("secure-cert-random1", 32), rng.bytes("secure-cert-random2", 32)] as [Uint8Array, Uint8Array] } : {}),
        }),
    );
    const name = `${out.uuid}/${out.uuid}_esp_secure_cert.bin`;
    out.files.push({ rel: name, data: sc, mode: 0o600 });
    out.deviceFiles.secureCert = name;
}

/** Onboarding codes: onb_codes.csv and the QR labels (PNG, SVG). */
function deviceLabels(ctx: BatchContext, plan: DevicePlan, passcode: number, out: DeviceOut): { qrCode: string; manualDigits: string; manualFormatted: string } {
    const c = ctx.config;
    const { uuid, discriminator } = plan;
    const codes = generateOnboardingCodes({
        vendorId: c.vendorId,
        productId: c.productId,
        passcode,
        discriminator,
        commissioningFlow: c.commissioningFlow,
        discoveryCapabilities: c.discoveryMode,
    });
    const qrCode = codes.qrCode;
    const manualFormatted = formatManualCodeMfg(codes.manualCode);
    const manualCsv = c.commissioningFlow === 0 ? manualFormatted : `"${manualFormatted}"`;
    const csvName = `${uuid}/${uuid}-onb_codes.csv`;
    const pngName = `${uuid}/${uuid}-qrcode.png`;
    out.files.push({ rel: csvName, data: `qrcode,manualcode,discriminator,passcode\n${qrCode},${manualCsv},${discriminator},${passcode}\n`, mode: 0o644 });
    const m = qrMatrix(qrCode);
    out.files.push({ rel: pngName, data: qrPng(m), mode: 0o644 });
    out.deviceFiles.onboardingCodes = csvName;
    out.deviceFiles.qrPng = pngName;
    if (c.svg) {
        const svgName = `${uuid}/${uuid}-qrcode.svg`;
        out.files.push({ rel: svgName, data: qrSvgBytes(m), mode: 0o644 });
        out.deviceFiles.qrSvg = svgName;
    }
    return { qrCode, manualDigits: codes.manualCode, manualFormatted };
}

/**
 * Factory rows → NVS items → image, encrypted when keys are given. The rows mfg_tool's own keys produce
 * (integers, strings, hex2bin, binary files) are turned into items directly; anything else (--csv rows) goes
 * through emulator/nvs resolveNvsRows, the same rules as `nvs generate`. Every device of a batch has the same
 * shape of items, so the image is a refilled layout (NvsImageCache): the same bytes as generateImage for a
 * fraction of its cost.
 */
export function nvsImage(rows: readonly FactoryRow[], size: number, keys?: NvsKeys): Uint8Array {
    const items: NvsItem[] = [];
    let ns: string | undefined;
    let line = 2;
    for (const r of rows) {
        if (r.namespace !== ns) {
            items.push({ kind: "namespace", name: r.namespace });
            ns = r.namespace;
            line++;
        }
        const fast = fastItem(r);
        if (fast) items.push(fast);
        else {
            const bytes = r.bytes;
            items.push(...resolveNvsRows([{ line, key: r.key, type: r.type, encoding: r.encoding, value: r.value }], {
                readFile: () => {
                    if (!bytes) throw new DiagnosticError("ENOENT", `no content for file row '${r.value}'`);
                    return bytes;
                },
            }));
        }
        line++;
    }
    const options: GenerateOptions = { size };
    if (keys) options.keys = keys;
    return images.generate(items, options);
}

/** This thread's partition layouts (a batch has one or a few shapes: the DAC's DER length varies by a byte or two). */
const images = new NvsImageCache();

const utf8 = new TextEncoder();

/** A string value's UTF-8 bytes and NUL; ASCII (most values: ids, base64, hex, names) without TextEncoder's native call. */
function stringBytes(s: string): Uint8Array {
    const n = s.length;
    for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) > 0x7f) {
            const text = utf8.encode(s);
            const out = new Uint8Array(text.length + 1);
            out.set(text);
            return out;
        }
    }
    // from Node's Buffer pool: a new Uint8Array over 64 bytes (the verifier's base64) is an ArrayBuffer of its own
    const out = Buffer.allocUnsafe(n + 1);
    for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
    out[n] = 0;
    return out;
}

/** The item of a row of the kinds mfg_tool's own keys produce, or undefined for resolveNvsRows (any other row). */
function fastItem(r: FactoryRow): NvsItem | undefined {
    if (r.key.length > 15 || Buffer.byteLength(r.key) > 15) return undefined;
    if (r.type === "file") return r.encoding === "binary" && r.bytes ? { kind: "blob", key: r.key, bytes: r.bytes } : undefined;
    if (r.type !== "data") return undefined;
    if (r.encoding === "string") return { kind: "string", key: r.key, bytes: stringBytes(r.value) };
    if (r.encoding === "u32" && /^[0-9]{1,10}$/.test(r.value)) {
        const v = BigInt(r.value);
        return v <= 0xffffffffn ? { kind: "int", key: r.key, type: "u32", value: v } : undefined;
    }
    if (r.encoding === "hex2bin" && /^([0-9a-fA-F]{2})*$/.test(r.value)) return { kind: "blob", key: r.key, bytes: new Uint8Array(Buffer.from(r.value, "hex")) };
    return undefined;
}

function writeOne(path: string, data: Uint8Array | string, mode: number): void {
    writeFileSync(path, data, { mode });
}

/** process.pid is a getter that asks the kernel each time (getpid): read once. */
const PID = process.pid;

/**
 * Writes the device into `<top>/.tmp-<uuid>-<pid>`, appends its journal line, then renames the directory to
 * `<top>/<uuid>`: a device directory either is complete or does not exist.
 */
export function writeDevice(ctx: BatchContext, dev: BuiltDevice, journalFd: number): void {
    // plain concatenation: ctx.top is absolute and normalized (batch.ts), a uuid has no "/" (path.join walks the
    // whole path character by character, twice per device)
    const tmp = `${ctx.top}/.tmp-${dev.uuid}-${PID}`;
    const inTmp = `${tmp}/`; // plain concatenation below: `rel` names are ours (no "..", no doubled slashes), path.join costs ~1 µs each
    try {
        mkdirSync(tmp);
    } catch {
        rmSync(tmp, { recursive: true, force: true }); // a leftover of an earlier crash with the same pid
        mkdirSync(tmp);
    }
    const prefix = `${dev.uuid}/`.length;
    let path = `${inTmp}internal`;
    try {
        mkdirSync(path);
        for (const f of dev.files) {
            path = inTmp + f.rel.slice(prefix);
            writeOne(path, f.data, f.mode);
        }
        path = ctx.journal;
        writeFileSync(journalFd, JSON.stringify(dev.journal) + "\n");
    } catch (e) {
        // a full disk, a quota, an outdir gone: no half-written device stays behind
        try {
            rmSync(tmp, { recursive: true, force: true });
        } catch {
            // the error below is the one to report
        }
        throw writeError(e, path.startsWith(inTmp) ? join(ctx.top, dev.uuid, path.slice(inTmp.length)) : path, dev.uuid);
    }
    const final = `${ctx.top}/${dev.uuid}`;
    try {
        renameSync(tmp, final);
    } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        const err = e as NodeJS.ErrnoException;
        if (err.code === "ENOTEMPTY" || err.code === "EEXIST") {
            throw new DiagnosticError("EEXIST", `device directory ${dev.uuid} already exists (use --resume, or another --outdir)`, { file: final });
        }
        throw e;
    }
}

/**
 * Removes the `.tmp-<uuid>-<pid>` directories of devices whose writing never finished: this process's (`pid`), after a
 * failed batch whose terminated worker threads may have left one, or every process's (`--resume`). Never throws: it
 * runs on the way to reporting another error, or before a run that then meets any real problem itself.
 */
export function removeDeviceTempDirs(top: string, pid?: number): void {
    const suffix = pid === undefined ? "" : `-${pid}`;
    try {
        for (const name of readdirSync(top)) {
            if (name.startsWith(".tmp-") && name.endsWith(suffix)) rmSync(join(top, name), { recursive: true, force: true });
        }
    } catch {
        // nothing to clean, or the error that follows is the one to report
    }
}

/** The error of writing a device's file, naming the file; the devices already complete stay (see --resume). */
function writeError(e: unknown, file: string, uuid: string): unknown {
    const err = e as NodeJS.ErrnoException;
    if (!(e instanceof Error) || typeof err.code !== "string") return e;
    return new DiagnosticError(err.code, `cannot write device ${uuid}: ${fsReason(err)} (complete devices are kept: make room, then run again with --resume)`, { file });
}

export function openJournal(path: string): number {
    const fd = openSync(path, "a+", 0o600);
    // a line cut short by a crash or a full disk: the next line starts on its own, so only the cut one is lost
    const size = fstatSync(fd).size;
    if (size > 0) {
        const last = Buffer.alloc(1);
        readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) writeFileSync(fd, "\n");
    }
    return fd;
}

export function closeJournal(fd: number): void {
    try {
        fsyncSync(fd);
    } finally {
        closeSync(fd);
    }
}
