/**
 * `mfgsim generate`: one batch of devices in esp-matter-mfg-tool's output layout, plus manifest.json.
 *
 * Layout (under `<outdir>/<vid>_<pid>/`, hex without 0x): `<uuid>/` per device (see device.ts), `staging/`
 * (config.csv, master.csv, pin_disc.csv, pai_cert.*, mfgsim-batch.json, mfgsim-journal.jsonl),
 * `cn_dacs-<timestamp>.csv`, `summary-<timestamp>.csv`, `manifest.json`.
 *
 * Crash safety and --resume: each device directory is renamed into place only when complete, after its line is
 * appended to the journal; --resume skips the indices whose directory exists, removes leftover temp
 * directories and builds the rest. With --seed the result is byte-identical to an uninterrupted run.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from "node:fs";
import { cpus } from "node:os";
import { getHeapStatistics } from "node:v8";
import { join, resolve } from "node:path";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { fsReason, writeFileAtomicSync } from "../cli/io.js";
import { parseCertificationDeclaration } from "../pki/cd.js";
import { hex16 } from "../pki/der.js";
import { issuePai } from "../pki/issue.js";
import { type P256Key, SeededRng, generateKey, keyFromScalar, pem, pkcs8Der } from "../pki/keys.js";
import { csvRow } from "./csvfmt.js";
import { removeDeviceTempDirs, type BatchContext, type DeviceJournal, type ManifestRecord } from "./device.js";
import { configCsvText, factoryRows, type FactoryRow } from "./factory.js";
import { readCertificate, readExtraSchema, readKey, readMasterValues } from "./inputs.js";
import { type MfgConfig, usage, validateConfig } from "./options.js";
import { runDevices } from "./pool.js";
import { BATCH_INDEX, deviceRng, seedBytes } from "./rng.js";
import { generateVerifier } from "../spake2p/verifier.js";

/** notBefore of seeded batches without --valid-from (SOURCE_DATE_EPOCH wins when set), so reruns are identical. */
export const SEEDED_NOT_BEFORE = "2024-01-01T00:00:00Z";
const NO_EXPIRY_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

export interface BatchOptions {
    cwd: string;
    onProgress?: (done: number, total: number) => void;
    onWarning?: (message: string) => void;
    /**
     * Stops the batch early (Ctrl-C in the CLI): no device is started after it fires, the ones in progress are
     * finished, and the batch files and manifest list the complete devices. `--resume` later makes the rest.
     */
    signal?: AbortSignal;
}

export interface BatchResult {
    outdir: string;
    /** `<outdir>/<vid>_<pid>` */
    top: string;
    manifest: string;
    /** Devices of this run's slice (generated now or found complete by --resume). */
    count: number;
    generated: number;
    resumed: number;
    devices: ManifestRecord[];
    summaryCsv: string;
    cnDacsCsv: string | null;
    seeded: boolean;
    shard: string | null;
    jobs: number;
    durationMs: number;
    /** `signal` stopped the batch before every device of the slice was made (`count` < the slice's size). */
    interrupted: boolean;
}

/** What a batch keeps per device until the end (its journal record and batch-CSV lines): measured ≈ 5.5 KB. */
export const BYTES_PER_DEVICE_IN_MEMORY = 6 * 1024;

export function defaultJobs(): number {
    return Math.max(1, cpus().length);
}

export function vidPidDir(vid: number, pid: number): string {
    return `${vid.toString(16)}_${pid.toString(16)}`;
}

/** Device indices of shard k/n: index % n == k - 1 (the same devices whatever --jobs). */
export function shardIndices(count: number, shard?: { k: number; n: number }): number[] {
    const out: number[] = [];
    for (let i = 0; i < count; i++) if (!shard || i % shard.n === shard.k - 1) out.push(i);
    return out;
}

function timestamp(d: Date, micro: boolean): string {
    const p = (n: number, w = 2): string => String(n).padStart(w, "0");
    const base = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
    return micro ? `${base}-${p(d.getMilliseconds() * 1000, 6)}` : base;
}

/** What must not change between an interrupted run and its --resume (the seed only as a hash). */
function fingerprint(c: MfgConfig): string {
    const { jobs: _j, resume: _r, shard: _s, outdir: _o, seed, ...rest } = c;
    return createHash("sha256").update(JSON.stringify({ ...rest, seed: seed === undefined ? null : createHash("sha256").update(seed).digest("hex") })).digest("hex");
}

/**
 * The journal's device lines. Lines of devices in `known` (this run's, already in memory) are not parsed: the
 * uuid at the start of the line identifies them (JSON.stringify writes `index` then `uuid` first), and only
 * `{ uuid }` is returned for them.
 */
function readJournal(path: string, known?: ReadonlyMap<string, unknown>): Array<DeviceJournal | { uuid: string }> {
    if (!existsSync(path)) return [];
    const out: Array<DeviceJournal | { uuid: string }> = [];
    for (const line of journalLines(path)) {
        if (!line.trim()) continue;
        const head = known && JOURNAL_HEAD.exec(line);
        if (head && known!.has(head[1]!)) {
            out.push({ uuid: head[1]! });
            continue;
        }
        try {
            out.push(JSON.parse(line) as DeviceJournal);
        } catch {
            // a line cut by a crash: that device's directory was never renamed into place
        }
    }
    return out;
}
const JOURNAL_HEAD = /^\{"index":-?\d+,"uuid":"([^"\\]+)"/;

/** A file's bytes in blocks of `blockSize` (each view valid until the next one is read). */
function* fileBlocks(path: string, blockSize: number): Generator<Buffer> {
    const fd = openSync(path, "r");
    try {
        const block = Buffer.allocUnsafe(blockSize);
        for (;;) {
            const n = readSync(fd, block, 0, block.length, null);
            if (n === 0) return;
            yield block.subarray(0, n);
        }
    } finally {
        closeSync(fd);
    }
}

/**
 * The journal's lines, read in 4 MiB blocks: a big batch's journal (≈ 3 KB a device) is larger than the longest
 * string V8 makes (2^29 characters), so it is never decoded as one.
 */
export function* journalLines(path: string, blockSize = 4 << 20): Generator<string> {
    let carry: Buffer = Buffer.alloc(0);
    for (const view of fileBlocks(path, blockSize)) {
        const data = carry.length ? Buffer.concat([carry, view]) : view;
        let start = 0;
        for (let at = data.indexOf(10); at >= 0; at = data.indexOf(10, start)) {
            yield data.toString("utf8", start, at);
            start = at + 1;
        }
        carry = Buffer.from(data.subarray(start));
    }
    if (carry.length) yield carry.toString("utf8");
}

/** Newline-terminated lines in a file, counted in 4 MiB blocks. */
export function countLines(path: string, blockSize = 4 << 20): { lines: number; endsWithNewline: boolean } {
    let lines = 0;
    let last = 10;
    for (const view of fileBlocks(path, blockSize)) {
        for (let at = view.indexOf(10); at >= 0; at = view.indexOf(10, at + 1)) lines++;
        last = view[view.length - 1]!;
    }
    return { lines, endsWithNewline: last === 10 };
}

export async function runBatch(config: MfgConfig, options: BatchOptions): Promise<BatchResult> {
    const started = Date.now();
    const c: MfgConfig = { ...config };
    const cwd = options.cwd;
    if (c.rdIdUid !== undefined) c.enableRotatingDeviceId = true;
    // mfg_tool: commissionable data in esp_secure_cert goes with the rotating device id unique id
    if (c.commissionableDataInSecureCert) c.rdIdUidInSecureCert = true;

    // inputs
    const extraSchema = c.csv !== undefined ? readExtraSchema(cwd, c.csv) : undefined;
    const mcsvRows = c.mcsv !== undefined && extraSchema ? readMasterValues(cwd, c.mcsv, extraSchema) : undefined;
    if (mcsvRows) c.count = mcsvRows.length; // mfg_tool: the mcsv row count overrides -n
    validateConfig(c);
    if (c.salt !== undefined && c.verifier !== undefined && c.passcode !== undefined) {
        const expected = Buffer.from(generateVerifier(c.passcode, new Uint8Array(Buffer.from(c.salt, "base64")), c.iterationCount).verifier).toString("base64");
        if (expected !== c.verifier.trim()) {
            throw usage("--verifier does not match --passcode, --salt and --iteration-count (recomputed SPAKE2+ verifier differs)", "--verifier", "CHIP_ERROR_INVALID_ARGUMENT");
        }
    }
    const caCert = c.cert !== undefined && c.attestation !== "none" ? readCertificate(cwd, c.cert, "--cert") : undefined;
    const caKey = c.key !== undefined && c.attestation !== "none" ? readKey(cwd, c.key, "--key") : undefined;
    const dacGiven = c.dacCert !== undefined && c.dacKey !== undefined ? { ...readCertificate(cwd, c.dacCert, "--dac-cert"), key: readKey(cwd, c.dacKey, "--dac-key") } : undefined;
    const cdBytes = c.certDclrn !== undefined ? new Uint8Array(readFileSync(resolveReadable(cwd, c.certDclrn, "--cert-dclrn"))) : undefined;
    if (dacGiven && caCert && caKey && Buffer.compare(Buffer.from(caKey.publicKey), Buffer.from(caCert.cert.publicKey)) !== 0) {
        throw usage("-k/--key is not the private key of the -c/--cert certificate", "--key");
    }
    if (c.attestation === "pai" && caCert && caKey && Buffer.compare(Buffer.from(caKey.publicKey), Buffer.from(caCert.cert.publicKey)) !== 0) {
        throw usage("-k/--key is not the private key of the -c/--cert certificate", "--key");
    }

    if (cdBytes) {
        for (const w of certificationDeclarationWarnings(cdBytes, c)) options.onWarning?.(`${c.certDclrn}: ${w}`);
    }

    const seed = c.seed !== undefined ? seedBytes(c.seed) : undefined;
    if (seed) {
        options.onWarning?.("--seed: keys, passcodes and salts are derived from the seed — for test batches only, never for products");
    }
    const notBeforeMs = c.validFrom !== undefined ? Date.parse(c.validFrom)
        : seed ? (process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.parse(SEEDED_NOT_BEFORE))
        : Math.floor(Date.now() / 1000) * 1000;
    const notAfterMs = Math.min(NO_EXPIRY_MS, notBeforeMs + c.lifetimeDays * 86_400_000);

    // which devices; memory: every device's journal record and CSV lines stay until the batch files are written
    const slice = shardIndices(c.count, c.shard);
    const sliceSize = slice.length;
    const heapLimit = getHeapStatistics().heap_size_limit;
    if (sliceSize * BYTES_PER_DEVICE_IN_MEMORY > 0.75 * heapLimit) {
        const gb = (b: number): string => (b / 2 ** 30).toFixed(1);
        throw usage(
            `${sliceSize} devices in one run keep ≈ ${gb(sliceSize * BYTES_PER_DEVICE_IN_MEMORY)} GB in memory until the batch files are written, ` +
                `more than this Node's heap (${gb(heapLimit)} GB) allows: split the batch with --shard k/n (an --outdir per shard), ` +
                `or raise the heap (NODE_OPTIONS=--max-old-space-size=<MB>)`,
            "--count",
        );
    }

    // directories, batch identity
    const outdir = resolve(cwd, c.outdir);
    const top = join(outdir, vidPidDir(c.vendorId, c.productId));
    const staging = join(top, "staging");
    try {
        mkdirSync(staging, { recursive: true });
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new DiagnosticError(err.code ?? "EIO", `cannot create the output directory: ${fsReason(err)}`, { file: staging, field: "--outdir" }, 2);
    }
    const batchFile = join(staging, "mfgsim-batch.json");
    const journal = join(staging, "mfgsim-journal.jsonl");
    const fp = fingerprint(c);
    const previous = existsSync(batchFile) ? (JSON.parse(readFileSync(batchFile, "utf8")) as { fingerprint?: string }).fingerprint : undefined;
    if (c.resume && previous !== undefined && previous !== fp) {
        throw usage(`--resume: ${top} holds a batch made with other parameters (same flags and --seed needed; only --jobs/--shard may change)`, "--resume");
    }
    if (previous !== fp) {
        rmSync(journal, { force: true });
        writeFileAtomicSync(batchFile, JSON.stringify({ tool: "mfgsim", fingerprint: fp, seeded: seed !== undefined }, null, 2) + "\n");
    }

    // PAI
    let pai: { der: Uint8Array; pemText: string; key: P256Key } | undefined;
    if (c.attestation === "pai" && caCert && caKey) {
        pai = { der: caCert.der, pemText: pem("CERTIFICATE", caCert.der), key: caKey };
    } else if (c.attestation === "pai" && caCert && dacGiven) {
        pai = { der: caCert.der, pemText: pem("CERTIFICATE", caCert.der), key: dacGiven.key }; // no PAI key needed: the DAC is given
    } else if (c.attestation === "paa" && caCert && caKey) {
        const keyPem = join(staging, "pai_key.pem");
        const certPem = join(staging, "pai_cert.pem");
        if (c.resume && existsSync(keyPem) && existsSync(certPem)) {
            const again = readCertificate(staging, certPem, "staging/pai_cert.pem");
            pai = { der: again.der, pemText: pem("CERTIFICATE", again.der), key: readKey(staging, keyPem, "staging/pai_key.pem") };
        } else {
            const rng = deviceRng(seed, BATCH_INDEX);
            const key = seed ? keyFromScalar(scalar(rng.bytes("pai-key", 32))) : generateKey();
            const issued = issuePai({
                key,
                issuer: { cert: caCert.cert, key: caKey },
                vid: c.vendorId,
                pid: c.productId,
                commonName: `${c.cnPrefix} PAI 00`,
                notBefore: new Date(notBeforeMs),
                notAfter: new Date(notAfterMs),
                ...(seed ? { rng: new SeededRng(rng.bytes("pai-cert", 32)) } : {}),
            });
            pai = { der: issued.der, pemText: issued.pem, key };
            writeFileAtomicSync(keyPem, pem("PRIVATE KEY", pkcs8Der(key)), { mode: 0o600 });
            writeFileAtomicSync(certPem, issued.pem);
        }
    }
    // synchronous like the batch files at the end: the cores are idle until the first PBKDF2 starts
    if (pai) writeFileAtomicSync(join(staging, "pai_cert.der"), pai.der);

    let fixedUuid: string | undefined;
    if (dacGiven) {
        const cn = dacGiven.cert.subject.find(a => a.oid === "2.5.4.3")?.text;
        if (cn && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(cn)) fixedUuid = cn.toLowerCase();
    }

    const ctx: BatchContext = {
        config: c,
        top,
        ...(seed ? { seed } : {}),
        notBefore: new Date(notBeforeMs).toISOString(),
        notAfter: new Date(notAfterMs).toISOString(),
        ...(pai ? { pai: { certDer: pai.der, keyScalar: pai.key.privateKey, path: join(staging, "pai_cert.der") } } : {}),
        ...(dacGiven ? { dacGiven: { certDer: dacGiven.der, keyScalar: dacGiven.key.privateKey } } : {}),
        ...(cdBytes ? { cd: { bytes: cdBytes, path: resolve(cwd, c.certDclrn!) } } : {}),
        ...(extraSchema ? { extraSchema } : {}),
        ...(mcsvRows ? { mcsvRows } : {}),
        cwd,
        ...(fixedUuid ? { fixedUuid } : {}),
        journal,
    };

    // the slice's devices already complete (--resume)
    const done = new Map<number, DeviceJournal>();
    if (c.resume) {
        removeDeviceTempDirs(top);
        for (const j of readJournal(journal) as DeviceJournal[]) if (existsSync(join(top, j.uuid))) done.set(j.index, j);
    }
    const todo = slice.filter(i => !done.has(i));
    // what a complete device leaves for the end: its manifest record and its lines of the batch CSVs, made as it
    // completes (work done while the cores run PBKDF2 instead of after the last device, when one core has nothing
    // to do). Not the whole journal record: what stays in memory until the end the GC copies and marks again.
    const results = new Map<number, ManifestRecord>();
    const lines = new Map<number, BatchLines>();
    const journalExisted = existsSync(journal);
    for (const i of slice) {
        if (!done.has(i)) continue;
        results.set(i, done.get(i)!.record);
        lines.set(i, batchLines(c, done.get(i)!));
    }
    options.onProgress?.(results.size, slice.length);
    await runDevices(
        ctx,
        todo,
        c.jobs,
        j => {
            results.set(j.index, j.record);
            lines.set(j.index, batchLines(c, j));
            options.onProgress?.(results.size, slice.length);
        },
        options.signal,
    );

    // batch files: every complete device of the slice (all of them unless the batch was interrupted)
    const complete = slice.filter(i => results.has(i));
    const devices = complete.map(i => results.get(i)!);
    const ordered = complete.map(i => lines.get(i)!);
    const template = templateRows(ctx);
    const keys = template.map(r => r.key);
    const pinHeader = c.dynamicPasscode ? ["Index", "Iteration Count", "Salt", "Discriminator"] : ["Index", "PIN Code", "Iteration Count", "Salt", "Verifier", "Discriminator"];
    const now = new Date();
    const summaryHeader = [...keys, ...(c.dynamicPasscode ? [] : ["pincode", "qrcode", "manualcode"]), ...(c.commissionableDataInSecureCert ? ["discriminator", "iteration-count", "salt"] : []), ...(c.rdIdUidInSecureCert ? ["rd-id-uid"] : [])];
    const summaryCsv = join(top, `summary-${timestamp(now, false)}.csv`);
    const cnDacsCsv = pai ? join(top, `cn_dacs-${timestamp(now, true)}.csv`) : null;
    // in chunks of 4096 devices: a million devices' summary is more than the longest string V8 makes
    const joined = function* (head: string, part: keyof BatchLines): Generator<string> {
        yield head;
        for (let i = 0; i < ordered.length; i += 4096) yield ordered.slice(i, i + 4096).map(l => l[part]).join("");
    };
    // synchronous: nothing else runs now, and thread-pool round trips (six per file) cost 10–25 ms at 1000 devices
    // during which the other cores sit idle
    writeFileAtomicSync(join(staging, "config.csv"), configCsvText(template));
    writeFileAtomicSync(join(staging, "master.csv"), joined(csvRow(keys) + "\n", "master"));
    writeFileAtomicSync(join(staging, "pin_disc.csv"), joined(pinHeader.join(",") + "\n", "pin"), { mode: 0o600 });
    writeFileAtomicSync(summaryCsv, joined(csvRow(summaryHeader) + "\r\n", "summary"), { mode: 0o600 });
    if (cnDacsCsv) writeFileAtomicSync(cnDacsCsv, joined(csvRow(["CN", "certs"]) + "\r\n", "cnDac"));

    // manifest: every complete device of this batch in the directory (shards run into the same outdir add up)
    const records = manifestRecords(journal, top, results, journalExisted);
    const manifest = join(top, "manifest.json");
    writeFileAtomicSync(
        manifest,
        prettyJsonChunks(
            {
                tool: "mfgsim",
                format: 1,
                vendorId: c.vendorId,
                productId: c.productId,
                count: c.count,
                seeded: seed !== undefined,
                encrypted: c.encrypt,
                iterationCount: c.iterationCount,
            },
            "devices",
            records,
        ),
    );

    return {
        outdir,
        top,
        manifest,
        count: devices.length,
        generated: devices.length - (slice.length - todo.length),
        resumed: slice.length - todo.length,
        devices,
        summaryCsv,
        cnDacsCsv,
        seeded: seed !== undefined,
        shard: c.shard ? `${c.shard.k}/${c.shard.n}` : null,
        jobs: Math.max(1, Math.min(c.jobs, todo.length)),
        durationMs: Date.now() - started,
        interrupted: devices.length < slice.length,
    };
}

function resolveReadable(cwd: string, path: string, flag: string): string {
    const abs = resolve(cwd, path);
    if (!existsSync(abs)) throw new DiagnosticError("ENOENT", `cannot read ${flag} file: no such file`, { file: path, field: flag });
    return abs;
}

function scalar(seed32: Uint8Array): Uint8Array {
    // a 32-byte value below n: re-hash until it is (probability of a retry ~2^-32)
    let d = seed32;
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    while (BigInt("0x" + Buffer.from(d).toString("hex")) === 0n || BigInt("0x" + Buffer.from(d).toString("hex")) >= n) {
        d = new Uint8Array(createHash("sha256").update(d).digest());
    }
    return d;
}

/** One device's lines of master.csv, pin_disc.csv, summary-*.csv and cn_dacs-*.csv (with their line ends). */
interface BatchLines {
    master: string;
    pin: string;
    summary: string;
    cnDac: string;
}

function batchLines(c: MfgConfig, d: DeviceJournal): BatchLines {
    const pin = c.dynamicPasscode ? [d.index, d.iterationCount, d.salt, d.discriminator] : [d.index, d.passcode, d.iterationCount, d.salt, d.verifier, d.discriminator];
    const summary = [
        ...d.master,
        ...(c.dynamicPasscode ? [] : [String(d.passcode), d.qrCode ?? "", d.manualCodeFormatted ?? ""]),
        ...(c.commissionableDataInSecureCert ? [String(d.discriminator), String(d.iterationCount), d.salt] : []),
        ...(c.rdIdUidInSecureCert ? [d.rdIdUid ?? ""] : []),
    ];
    return {
        master: csvRow(d.master) + "\n",
        pin: pin.join(",") + "\n",
        summary: csvRow(summary) + "\r\n",
        cnDac: d.cnDac ? csvRow(d.cnDac) + "\r\n" : "",
    };
}

/**
 * The manifest's records: every device of the journal whose directory is in place. A journal this run created
 * and that holds exactly its devices' lines is not read back (the common case: a fresh batch).
 */
function manifestRecords(journal: string, top: string, results: ReadonlyMap<number, ManifestRecord>, journalExisted: boolean): ManifestRecord[] {
    const ours = [...results.values()];
    let onlyOurs = false;
    if (!journalExisted && existsSync(journal)) {
        const { lines, endsWithNewline } = countLines(journal);
        onlyOurs = lines === ours.length && endsWithNewline;
    }
    const all = new Map<string, ManifestRecord>();
    if (onlyOurs) {
        for (const r of ours) all.set(r.id, r);
    } else {
        const known = new Map<string, ManifestRecord>();
        for (const r of ours) known.set(r.id, r);
        for (const j of readJournal(journal, known)) {
            if ("record" in j) {
                if (existsSync(join(top, j.uuid))) all.set(j.uuid, j.record);
            } else all.set(j.uuid, known.get(j.uuid)!); // this run's devices (or resumed ones): their directories are in place
        }
    }
    return [...all.values()].sort((a, b) => a.index - b.index || a.id.localeCompare(b.id));
}

/**
 * `JSON.stringify({ ...head, [key]: items }, null, 2) + "\n"`, byte for byte, in pieces of `chunk` items when there
 * are more: the manifest of half a million devices is longer than the longest string V8 makes (2^29 characters).
 */
export function* prettyJsonChunks(head: Record<string, unknown>, key: string, items: readonly unknown[], chunk = 65536): Generator<string> {
    if (items.length <= chunk) {
        yield JSON.stringify({ ...head, [key]: items }, null, 2) + "\n";
        return;
    }
    const open = JSON.stringify({ ...head, [key]: [] }, null, 2);
    yield open.slice(0, open.lastIndexOf("[]")) + "[\n";
    for (let i = 0; i < items.length; i += chunk) {
        // the piece as an array ("[\n  {…},\n  {…}\n]"), its items indented one level deeper
        const array = JSON.stringify(items.slice(i, i + chunk), null, 2);
        yield "  " + array.slice(2, -2).replace(/\n/g, "\n  ") + (i + chunk < items.length ? ",\n" : "\n");
    }
    yield "  ]\n}\n";
}

/** The rows every device has (keys, types, encodings), for config.csv and the master.csv header. */
function templateRows(ctx: BatchContext): FactoryRow[] {
    const empty = new Uint8Array(0);
    return factoryRows(ctx.config, {
        discriminator: 0,
        iterationCount: ctx.config.iterationCount,
        saltB64: "",
        verifierB64: "",
        serialNum: "",
        rdIdUidHex: "",
        ...(ctx.pai ? { dac: { certDer: empty, privateKey: empty, publicKey: empty, paiDer: empty, certPath: "", privateKeyPath: "", publicKeyPath: "", paiPath: "" } } : {}),
        ...(ctx.cd ? { cd: ctx.cd } : {}),
        ...(ctx.extraSchema ? { extra: ctx.extraSchema.map(s => ({ ...s, value: "" })) } : {}),
    });
}

/**
 * What a commissioner will say about -cd for this batch, said before a single chip is flashed: the file is written to
 * cert-dclrn as given either way (mfg_tool does no check at all), the gate's `cd` check reports the same verdicts.
 */
export function certificationDeclarationWarnings(cd: Uint8Array, c: Pick<MfgConfig, "vendorId" | "productId">): string[] {
    let content: ReturnType<typeof parseCertificationDeclaration>["content"];
    try {
        content = parseCertificationDeclaration(cd).content;
    } catch (e) {
        return [`not a Certification Declaration (CMS SignedData): ${(e as Error).message}; commissioners will reject these devices`];
    }
    const out: string[] = [];
    if (content.vendorId !== c.vendorId) {
        out.push(`the CD's vendor_id ${hex16(content.vendorId)} is not the batch's vendor id ${hex16(c.vendorId)}: commissioners reject these devices (CertificationDeclarationInvalidVendorId)`);
    }
    if (!content.productIds.includes(c.productId)) {
        out.push(`the batch's product id ${hex16(c.productId)} is not in the CD's product_id_array [${content.productIds.map(hex16).join(", ")}]: commissioners reject these devices (CertificationDeclarationInvalidProductId)`);
    }
    return out;
}
