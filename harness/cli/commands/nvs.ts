/**
 * `mfgsim nvs …`: drop-in for nvs_partition_gen.py (generate, encrypt, decrypt, generate-key) plus `dump`
 * (what nvs_tool.py shows, read with the device's rules). File I/O lives here; emulator/nvs is pure.
 */
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { extname, isAbsolute, join, resolve } from "node:path";
import { DiagnosticError } from "../../../emulator/esp_common/err.js";
import { action } from "../action.js";
import { intIn, parseSize } from "../args.js";
import { inFile, readInput, writeFileAtomic, writePrivateFile } from "../io.js";

interface GenOpts {
    json?: boolean;
    version: number;
    outdir?: string;
}

interface EncOpts extends GenOpts {
    inputkey?: string;
    keygen?: boolean;
    keyfile?: string;
    key_protect_hmac?: boolean;
    kp_hmac_inputkey?: string;
}

/** nvs_partition_gen's set_target_filepath: relative paths go under --outdir (default: the working directory). */
function target(outdir: string | undefined, path: string): string {
    return isAbsolute(path) ? path : join(outdir ?? process.cwd(), path);
}

/** Key files go to <outdir>/keys/<keyfile> (default name keys-MM-DD_HH-MM.bin), `.bin` added when there is no extension. */
function keyfileTarget(outdir: string | undefined, keyfile: string | undefined): string {
    let name = keyfile;
    if (!name) {
        const d = new Date();
        const two = (n: number) => String(n).padStart(2, "0");
        name = `keys-${two(d.getMonth() + 1)}-${two(d.getDate())}_${two(d.getHours())}-${two(d.getMinutes())}.bin`;
    } else if (extname(name) === "") {
        name += ".bin";
    }
    return isAbsolute(name) ? name : join(outdir ?? process.cwd(), "keys", name);
}

/** File rows resolve against the working directory, as in nvs_partition_gen. */
function fileReader(csvPath: string) {
    return (p: string): Uint8Array => {
        const abs = resolve(process.cwd(), p);
        try {
            return new Uint8Array(readFileSync(abs));
        } catch (e) {
            const code = (e as NodeJS.ErrnoException).code ?? "EIO";
            const reason = code === "ENOENT" ? "no such file or directory" : code === "EISDIR" ? "is a directory" : (e as Error).message;
            throw new DiagnosticError(code, `cannot read file '${p}' named in the CSV: ${reason}`, { file: csvPath });
        }
    };
}

async function loadKeys(path: string) {
    const { decodeNvsKeys } = await import("../../../emulator/nvs/index.js");
    const bytes = await readInput(path, "key partition");
    return inFile(path, () => decodeNvsKeys(bytes, path));
}

async function buildImage(csvPath: string, size: number, opts: GenOpts, keys?: import("../../../emulator/nvs/index.js").NvsKeys) {
    const { generateFromCsv } = await import("../../../emulator/nvs/index.js");
    const text = (await readInput(csvPath, "CSV")).toString("utf8");
    return generateFromCsv(text, { size, version: opts.version as 1 | 2, keys, readFile: fileReader(csvPath), file: csvPath });
}

function summary(r: { pages: number; entries: number; usedEntries: number; readOnly: boolean }, output: string): string {
    return `Created NVS binary: ${output} (${r.entries} entries on ${r.pages} page${r.pages === 1 ? "" : "s"}${r.readOnly ? ", read-only partition" : ""})`;
}

export function register(program: Command): void {
    const group = program
        .command("nvs")
        .description("ESP-IDF NVS partitions: nvs_partition_gen.py generate/encrypt/decrypt/generate-key, and dump with the device's read rules");

    group
        .command("generate")
        .description("generate an NVS partition image from a key,type,encoding,value CSV (byte-exact with nvs_partition_gen 0.2.0)")
        .argument("<csv>", "input CSV (file rows resolve against the working directory)")
        .argument("<output>", "output .bin (relative paths go under --outdir)")
        .argument("<size>", "partition size, a multiple of 4096 (0x…, decimal, K/M); < 0x3000 = read-only image", s => parseSize(s))
        .option("--version <n>", "1 (single-page blobs) or 2 (multi-page blobs)", intIn(1, 2, "--version"), 2)
        .option("--outdir <dir>", "output directory (default: the working directory)")
        .option("--json", "print one JSON document on stdout")
        .action(
            action("nvs generate", async (csv: string, output: string, size: number, opts: GenOpts) => {
                const r = await buildImage(csv, size, opts);
                const out = target(opts.outdir, output);
                await writeFileAtomic(out, r.image);
                return { json: { output: out, pages: r.pages, entries: r.entries, usedEntries: r.usedEntries, readOnly: r.readOnly }, text: summary(r, out) };
            }),
        );

    group
        .command("encrypt")
        .description("generate an NVS partition encrypted with AES-256-XTS (NVS encryption); keys from --inputkey or --keygen")
        .argument("<csv>", "input CSV")
        .argument("<output>", "output .bin (relative paths go under --outdir)")
        .argument("<size>", "partition size, a multiple of 4096", s => parseSize(s))
        .option("--version <n>", "1 or 2", intIn(1, 2, "--version"), 2)
        .option("--inputkey <keys.bin>", "nvs_keys partition holding the XTS keys")
        .option("--keygen", "generate new keys and write them to --keyfile")
        .option("--keyfile <file>", "key file for --keygen (relative names go to <outdir>/keys/; default keys-<date>.bin)")
        .option("--key_protect_hmac", "with --keygen: derive the keys from an HMAC key (HMAC key-protection scheme)")
        .option("--kp_hmac_inputkey <file>", "the 32-byte HMAC key for --key_protect_hmac")
        .option("--outdir <dir>", "output directory (default: the working directory)")
        .option("--json", "print one JSON document on stdout")
        .action(
            action("nvs encrypt", async (csv: string, output: string, size: number, opts: EncOpts) => {
                if (!opts.keygen && !opts.inputkey) throw new DiagnosticError("ESP_ERR_INVALID_ARG", "--keygen or --inputkey is needed", { field: "inputkey" });
                if (opts.keygen && opts.inputkey) throw new DiagnosticError("ESP_ERR_INVALID_ARG", "--keygen and --inputkey cannot be used together", { field: "keygen" });
                const enc = await import("../../../emulator/nvs/index.js");
                let keys: import("../../../emulator/nvs/index.js").NvsKeys;
                let keyfile: string;
                if (opts.inputkey) {
                    keys = await loadKeys(opts.inputkey);
                    keyfile = opts.inputkey;
                } else {
                    keys = await makeKeys(opts);
                    keyfile = keyfileTarget(opts.outdir, opts.keyfile);
                }
                const r = await buildImage(csv, size, opts, keys); // everything in memory first: no partial output
                const out = target(opts.outdir, output);
                if (opts.keygen) await writePrivateFile(keyfile, enc.encodeNvsKeys(keys));
                await writeFileAtomic(out, r.image);
                return {
                    json: { output: out, pages: r.pages, entries: r.entries, usedEntries: r.usedEntries, readOnly: r.readOnly, keyfile },
                    text: `${summary(r, out)}\n${opts.keygen ? "Created encryption keys" : "Encrypted with keys"}: ${keyfile}`,
                };
            }),
        );

    group
        .command("decrypt")
        .description("decrypt an encrypted NVS partition image with its nvs_keys partition")
        .argument("<input>", "encrypted NVS image")
        .argument("<keys>", "nvs_keys partition (eky, tky, CRC32)")
        .argument("<output>", "decrypted .bin (relative paths go under --outdir)")
        .option("--outdir <dir>", "output directory (default: the working directory)")
        .option("--json", "print one JSON document on stdout")
        .action(
            action("nvs decrypt", async (input: string, keysPath: string, output: string, opts: { json?: boolean; outdir?: string }) => {
                const { decryptImage, PAGE_SIZE } = await import("../../../emulator/nvs/index.js");
                const keys = await loadKeys(keysPath);
                const image = await readInput(input, "NVS image");
                if (image.length === 0 || image.length % PAGE_SIZE !== 0) {
                    throw new DiagnosticError("ESP_ERR_INVALID_SIZE", `image is ${image.length} bytes, not a multiple of 4096 (truncated?)`, {
                        file: input,
                        offset: image.length - (image.length % PAGE_SIZE),
                    });
                }
                const out = target(opts.outdir, output);
                await writeFileAtomic(out, decryptImage(image, keys));
                return { json: { output: out }, text: `Created NVS decrypted binary: ${out}` };
            }),
        );

    group
        .command("generate-key")
        .description("generate NVS encryption keys (an nvs_keys partition image, written with mode 0600)")
        .option("--keyfile <file>", "output key file (relative names go to <outdir>/keys/; default keys-<date>.bin)")
        .option("--key_protect_hmac", "derive the keys from an HMAC key (HMAC key-protection scheme)")
        .option("--kp_hmac_inputkey <file>", "the 32-byte HMAC key for --key_protect_hmac")
        .option("--outdir <dir>", "output directory (default: the working directory)")
        .option("--json", "print one JSON document on stdout")
        .action(
            action("nvs generate-key", async (opts: EncOpts) => {
                const { encodeNvsKeys } = await import("../../../emulator/nvs/index.js");
                const keys = await makeKeys(opts);
                const keyfile = keyfileTarget(opts.outdir, opts.keyfile);
                await writePrivateFile(keyfile, encodeNvsKeys(keys));
                return { json: { keyfile }, text: `Created encryption keys: ${keyfile}` };
            }),
        );

    group
        .command("dump")
        .description("list the pages and the key-value pairs of an NVS image as the device reads them (later duplicates win)")
        .argument("<input>", "NVS partition image")
        .option("--keys <keys.bin>", "nvs_keys partition, for an encrypted image")
        .option("--read-write", "mount read-write: fails with ESP_ERR_NVS_NO_FREE_PAGES when no page is free, as on the device")
        .option("--json", "print one JSON document on stdout")
        .action(
            action("nvs dump", async (input: string, opts: { json?: boolean; keys?: string; readWrite?: boolean }) => {
                const { mountNvs } = await import("../../../emulator/nvs/index.js");
                const keys = opts.keys ? await loadKeys(opts.keys) : undefined;
                const image = await readInput(input, "NVS image");
                const nvs = mountNvs(image, { keys, readOnly: !opts.readWrite, file: input });
                const problems: import("../../../emulator/nvs/index.js").NvsProblem[] = [];
                const entries = nvs.entries(problems).map(e => ({
                    namespace: e.namespace,
                    key: e.key,
                    type: e.type,
                    value:
                        e.value instanceof Uint8Array ? Buffer.from(e.value).toString("hex")
                        : typeof e.value === "bigint" ? e.value.toString()
                        : e.value,
                }));
                const pages = nvs.pages().map(p => ({ index: p.index, state: p.state, seq: p.seq, version: p.version, crcOk: p.crcOk, written: p.written }));
                return { json: { pages, entries, problems }, text: dumpText(pages, entries, problems) };
            }),
        );
}

async function makeKeys(opts: EncOpts) {
    const { deriveNvsKeysFromHmac, randomNvsKeys } = await import("../../../emulator/nvs/index.js");
    if (opts.key_protect_hmac) {
        if (!opts.kp_hmac_inputkey) {
            throw new DiagnosticError("ESP_ERR_INVALID_ARG", "--key_protect_hmac needs --kp_hmac_inputkey <32-byte HMAC key file>", { field: "kp_hmac_inputkey" });
        }
        const hmacKey = await readInput(opts.kp_hmac_inputkey, "HMAC key");
        if (hmacKey.length !== 32) {
            // nvs_partition_gen takes a key of any length too, but a chip derives its XTS keys from a 32-byte eFuse key
            process.stderr.write(
                `mfgsim nvs: warning: ${opts.kp_hmac_inputkey}: HMAC key is ${hmacKey.length} bytes; the eFuse HMAC key a chip derives its NVS keys from is 32, so a device would not read this partition\n`,
            );
        }
        return inFile(opts.kp_hmac_inputkey, () => deriveNvsKeysFromHmac(hmacKey));
    }
    return randomNvsKeys();
}

function dumpText(
    pages: Array<{ index: number; state: string; seq: number; version: number; crcOk: boolean; written?: number }>,
    entries: Array<{ namespace: string; key: string; type: string; value: unknown }>,
    problems: Array<{ namespace?: string; key: string; code: string; message: string; offset: number }>,
): string {
    const lines: string[] = ["page  state          seq         version  crc  written"];
    for (const p of pages) {
        const blank = p.state === "UNINITIALIZED";
        lines.push(
            `${String(p.index).padEnd(4)}  ${p.state.padEnd(13)}  ${(blank ? "-" : String(p.seq)).padEnd(10)}  ` +
                `${("0x" + p.version.toString(16)).padEnd(7)}  ${blank ? "-  " : p.crcOk ? "ok " : "BAD"}  ${p.written ?? "-"}`,
        );
    }
    lines.push("");
    const rows = entries.map(e => {
        let v = String(e.value);
        if (e.type === "string") v = JSON.stringify(e.value);
        if (v.length > 64) v = `${v.slice(0, 61)}…`;
        return [e.namespace, e.key, e.type, v];
    });
    const head = ["namespace", "key", "type", "value"];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i]!.length)));
    lines.push(head.map((h, i) => h.padEnd(w[i]!)).join("  ").trimEnd());
    for (const r of rows) lines.push(r.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c)).join("  "));
    if (rows.length === 0) lines.push("(no readable entries)");
    for (const p of problems) lines.push(`unreadable: ${p.namespace ?? "?"}/${p.key} at 0x${p.offset.toString(16)}: ${p.code}: ${p.message}`);
    return lines.join("\n");
}
