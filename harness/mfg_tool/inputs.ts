/** Reading the batch's input files (-c/-k, --dac-cert/--dac-key, -cd, --csv/--mcsv) with one-line errors naming the file. */
import { type KeyObject, createPrivateKey } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { fsReason } from "../cli/io.js";
import { resolveNvsRows } from "../../emulator/nvs/index.js";
import { type P256Key, keyFromScalar, loadPrivateKey, pemBlocks } from "../pki/keys.js";
import { type Certificate, parseCertificate } from "../pki/x509.js";
import { parseCsv } from "./csvfmt.js";
import type { ExtraSchemaRow } from "./device.js";

export function readBytes(cwd: string, path: string, flag: string): Uint8Array {
    const abs = resolve(cwd, path);
    try {
        return new Uint8Array(readFileSync(abs));
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new DiagnosticError(err.code ?? "EIO", `cannot read ${flag} file: ${fsReason(err)}`, { file: path, field: flag });
    }
}

/** A certificate in PEM or DER (mfg_tool's load_cert_from_file accepts both). */
export function readCertificate(cwd: string, path: string, flag: string): { der: Uint8Array; cert: Certificate } {
    const raw = readBytes(cwd, path, flag);
    let der = raw;
    const text = Buffer.from(raw).toString("latin1");
    if (text.includes("-----BEGIN")) {
        const block = pemBlocks(text).find(b => b.label === "CERTIFICATE");
        if (!block) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `${flag}: no CERTIFICATE PEM block`, { file: path, field: flag });
        der = block.der;
    }
    try {
        return { der, cert: parseCertificate(der) };
    } catch (e) {
        if (e instanceof DiagnosticError) throw e.withContext({ file: path, field: flag });
        throw e;
    }
}

/**
 * A P-256 private key (PEM or DER, PKCS#8 or SEC1, or a raw scalar). OpenSSL parses it when it can: the JS
 * path computes the public key with a point multiplication whose first use builds tables (~100–300 ms).
 */
export function readKey(cwd: string, path: string, flag: string): P256Key {
    const bytes = readBytes(cwd, path, flag);
    try {
        const text = Buffer.from(bytes).toString("latin1");
        const isPem = text.includes("-----BEGIN");
        const der = (type: "pkcs8" | "sec1"): KeyObject | undefined => {
            try {
                return createPrivateKey({ key: Buffer.from(bytes), format: "der", type });
            } catch {
                return undefined;
            }
        };
        const key = isPem ? createPrivateKey({ key: text, format: "pem" }) : (der("pkcs8") ?? der("sec1"));
        if (!key) throw new Error("not DER");
        const jwk = key.export({ format: "jwk" });
        if (key.asymmetricKeyType === "ec" && jwk.crv === "P-256" && jwk.d && jwk.x && jwk.y) {
            const b32 = (v: string): Uint8Array => {
                const b = Buffer.from(v, "base64url");
                const out = new Uint8Array(32);
                out.set(b, 32 - b.length);
                return out;
            };
            return keyFromScalar(b32(jwk.d));
        }
    } catch {
        // not something OpenSSL reads (raw scalar, hex, other curve): the strict parser below says why
    }
    try {
        return loadPrivateKey(bytes, flag);
    } catch (e) {
        if (e instanceof DiagnosticError) throw e.withContext({ file: path });
        throw e;
    }
}

const ENCODINGS = new Set(["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "string", "hex2bin", "base64", "binary"]);

/** The --csv schema: `name,namespace,` switches namespace (chip-factory before the first), `key,type,encoding` rows. */
export function readExtraSchema(cwd: string, path: string): ExtraSchemaRow[] {
    const rows = parseCsv(Buffer.from(readBytes(cwd, path, "--csv")).toString("utf8"));
    const out: ExtraSchemaRow[] = [];
    let namespace = "chip-factory";
    rows.forEach((r, i) => {
        const ctx = { file: path, line: i + 1 };
        if (r.every(f => f.trim() === "")) return;
        if (r.includes("namespace")) {
            namespace = r[0]!.trim();
            if (namespace.length === 0 || Buffer.byteLength(namespace) > 15) throw new DiagnosticError("ESP_ERR_NVS_KEY_TOO_LONG", `namespace '${namespace}' must be 1..15 bytes`, { ...ctx, field: "key" });
            return;
        }
        const [key = "", type = "", encoding = ""] = r.map(f => f.trim());
        if (key.length === 0 || Buffer.byteLength(key) > 15) throw new DiagnosticError("ESP_ERR_NVS_KEY_TOO_LONG", `key '${key}' must be 1..15 bytes`, { ...ctx, field: "key" });
        if (type !== "data" && type !== "file") throw new DiagnosticError("ESP_ERR_NOT_SUPPORTED", `type '${type}' of key '${key}' must be data or file`, { ...ctx, field: "type" });
        if (!ENCODINGS.has(encoding)) throw new DiagnosticError("ESP_ERR_NOT_SUPPORTED", `encoding '${encoding}' of key '${key}' is not one of ${[...ENCODINGS].join(", ")}`, { ...ctx, field: "encoding" });
        out.push({ namespace, key, type, encoding });
    });
    return out;
}

/** The --mcsv values: a header of keys, one row per device. */
export function readMasterValues(cwd: string, path: string, schema: readonly ExtraSchemaRow[]): Array<Record<string, string>> {
    const rows = parseCsv(Buffer.from(readBytes(cwd, path, "--mcsv")).toString("utf8"));
    if (rows.length < 2) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "--mcsv needs a header row and at least one device row", { file: path });
    const header = rows[0]!.map(h => h.trim());
    for (const s of schema) {
        if (!header.includes(s.key)) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `--mcsv has no column '${s.key}' declared in --csv`, { file: path, line: 1, field: s.key });
    }
    return rows.slice(1).map((r, i) => {
        const line = i + 2;
        if (r.length !== header.length) {
            throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `row has ${r.length} values for ${header.length} keys`, { file: path, line });
        }
        const values: Record<string, string> = Object.fromEntries(header.map((h, j) => [h, r[j]!]));
        // every value is checked before the first device is written: a bad one in row 500 would otherwise stop the
        // batch after 499 devices, with an error that names a line of the device's internal partition.csv
        for (const s of schema) {
            const value = values[s.key]!;
            if (s.type === "file") {
                if (!existsSync(resolve(cwd, value))) throw new DiagnosticError("ENOENT", `cannot read file '${value}' of key '${s.key}'`, { file: path, line, field: s.key });
                continue;
            }
            try {
                resolveNvsRows([{ line, key: s.key, type: s.type, encoding: s.encoding, value }], { file: path });
            } catch (e) {
                if (e instanceof DiagnosticError) throw e.withContext({ file: path, line, field: s.key });
                throw e;
            }
        }
        return values;
    });
}
