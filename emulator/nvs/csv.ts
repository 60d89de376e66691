/**
 * The nvs_partition_gen CSV (`key,type,encoding,value`): a header row (columns in any order, like Python's
 * csv.DictReader), `#` comment lines, RFC 4180 quoting, rows of type namespace | data | file.
 *
 * `parseNvsCsv(text)` → rows with their line numbers; `resolveNvsRows(rows, { readFile })` → typed items
 * ready for the generator. This module does no I/O: `file` rows are read through the caller's `readFile`
 * (paths as written in the CSV; the generator resolves them against its working directory).
 */
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { BLOB_MAX_SIZE, INT_TYPES, MAX_KEY_LENGTH, type IntTypeName } from "./format.js";

export interface NvsCsvRow {
    /** 1-based line of the row's first physical line. */
    line: number;
    key: string;
    type: string;
    encoding: string;
    value: string;
}

export type NvsItem =
    | { kind: "namespace"; name: string; line?: number }
    | { kind: "int"; key: string; type: IntTypeName; value: bigint; line?: number }
    /** `bytes` is the payload as stored, including the trailing NUL. */
    | { kind: "string"; key: string; bytes: Uint8Array; line?: number }
    | { kind: "blob"; key: string; bytes: Uint8Array; line?: number };

export type ReadFile = (path: string) => Uint8Array;

const COLUMNS = ["key", "type", "encoding", "value"] as const;

/** Splits CSV text into records (RFC 4180 + Python csv defaults); `#` lines are dropped first, as the generator does. */
function records(text: string, file?: string): Array<{ line: number; fields: string[] }> {
    const out: Array<{ line: number; fields: string[] }> = [];
    const lines = text.split(/\r\n|\n|\r/);
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    let i = 0;
    while (i < lines.length) {
        const startLine = i + 1;
        if (lines[i]!.startsWith("#")) {
            i++;
            continue;
        }
        const fields: string[] = [];
        let field = "";
        let inQuotes = false;
        let quotedField = false;
        let line = lines[i]!;
        let p = 0;
        for (;;) {
            if (p >= line.length) {
                if (inQuotes) {
                    // a quoted field continues on the next physical line
                    i++;
                    if (i >= lines.length) {
                        throw new DiagnosticError("NVS_CSV_UNTERMINATED_QUOTE", "a quoted field is not closed before the end of the file", { file, line: startLine });
                    }
                    field += "\n";
                    line = lines[i]!;
                    p = 0;
                    continue;
                }
                fields.push(field);
                break;
            }
            const c = line[p]!;
            if (inQuotes) {
                if (c === '"') {
                    if (line[p + 1] === '"') {
                        field += '"';
                        p += 2;
                    } else {
                        inQuotes = false;
                        p++;
                    }
                } else {
                    field += c;
                    p++;
                }
            } else if (c === ",") {
                fields.push(field);
                field = "";
                quotedField = false;
                p++;
            } else if (c === '"' && field === "" && !quotedField) {
                inQuotes = true;
                quotedField = true;
                p++;
            } else {
                field += c;
                p++;
            }
        }
        i++;
        // csv.DictReader skips rows with no fields at all (blank lines)
        if (fields.length === 1 && fields[0] === "" && !quotedField) continue;
        out.push({ line: startLine, fields });
    }
    return out;
}

/** Parses the CSV text; throws DiagnosticError naming the line for a missing header column. */
export function parseNvsCsv(text: string, file?: string): NvsCsvRow[] {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const recs = records(text, file);
    if (recs.length === 0) return [];
    const header = recs[0]!;
    const index: Record<string, number> = {};
    header.fields.forEach((name, i) => {
        if (!(name in index)) index[name] = i;
    });
    for (const col of ["key", "type"] as const) {
        if (index[col] === undefined) {
            throw new DiagnosticError(
                "NVS_CSV_BAD_HEADER",
                `the header row must name the columns ${COLUMNS.join(",")} (missing '${col}')`,
                { file, line: header.line, field: col },
            );
        }
    }
    return recs.slice(1).map(r => ({
        line: r.line,
        key: r.fields[index.key!] ?? "",
        type: r.fields[index.type!] ?? "",
        encoding: index.encoding === undefined ? "" : (r.fields[index.encoding] ?? ""),
        value: index.value === undefined ? "" : (r.fields[index.value] ?? ""),
    }));
}

/** Parses `123`, `-5`, `0x1F`, `-0x10` (whitespace around allowed, `_` separators like Python int()). */
export function parseCsvInteger(text: string): bigint | undefined {
    const t = text.trim();
    const m = /^([+-]?)(0[xX][0-9a-fA-F]+(?:_?[0-9a-fA-F]+)*|[0-9]+(?:_?[0-9]+)*)$/.exec(t);
    if (!m) return undefined;
    const digits = m[2]!.replace(/_/g, "");
    const v = BigInt(digits);
    return m[1] === "-" ? -v : v;
}

export interface FillEncoding {
    size: number;
    fill: number;
    withSize: boolean;
}

/**
 * `blob_fill(N;0xPP)` / `blob_sz_fill(N;0xPP)` as nvs_partition_gen matches them (write_entry):
 * `re.match(r'(blob_fill|blob_sz_fill)\((\d+);(0x[0-9a-fA-F]{2})\)', encoding)` on the encoding as written —
 * case-sensitive, N decimal, the fill byte exactly `0x` + two hex digits, anything after the `)` ignored.
 * The value's UTF-8 bytes (≤ N) are padded to N with the fill byte; blob_sz_fill prefixes the u32 LE value length
 * (N + 4 bytes in all); an empty value is N fill bytes (after a zero length). The result is a hex2bin blob.
 */
export function parseFillEncoding(encoding: string): FillEncoding | undefined {
    const m = /^blob_(sz_)?fill\(([0-9]+);(0x[0-9a-fA-F]{2})\)/.exec(encoding);
    if (!m) return undefined;
    return { size: Number(m[2]!), fill: parseInt(m[3]!.slice(2), 16), withSize: m[1] !== undefined };
}

const BASE64_CHARS = /[^A-Za-z0-9+/=]/g;

function decodeHex(text: string, ctx: { line: number; field: string; file?: string; key: string }): Uint8Array {
    const t = text.replace(/^[\s\0]+|[\s\0]+$/g, "");
    if (t.length % 2 !== 0) {
        throw new EspError("ESP_ERR_INVALID_ARG", `${ctx.key}: hex2bin value has an odd number of digits (${t.length})`, ctx);
    }
    if (!/^[0-9a-fA-F]*$/.test(t)) throw new EspError("ESP_ERR_INVALID_ARG", `${ctx.key}: hex2bin value is not hexadecimal`, ctx);
    return new Uint8Array(Buffer.from(t, "hex"));
}

function decodeBase64(text: string, ctx: { line: number; field: string; file?: string; key: string }): Uint8Array {
    // binascii.a2b_base64 (non-strict) drops characters outside the alphabet
    const cleaned = text.replace(BASE64_CHARS, "");
    const body = cleaned.replace(/=+$/, "");
    if (body.includes("=") || body.length % 4 === 1) {
        throw new EspError("ESP_ERR_INVALID_ARG", `${ctx.key}: base64 value is malformed (incorrect padding)`, ctx);
    }
    return new Uint8Array(Buffer.from(body, "base64"));
}

function utf8Decode(bytes: Uint8Array, ctx: { line: number; field: string; file?: string; key: string }): string {
    try {
        return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
        throw new EspError("ESP_ERR_INVALID_ARG", `${ctx.key}: file content is not valid UTF-8 text`, ctx);
    }
}

/**
 * Turns CSV rows into typed items, validating keys (≤ 15 bytes → else ESP_ERR_NVS_KEY_TOO_LONG), integers
 * (decimal or 0x-hex, in range), encodings and file rows. Errors carry the line and field.
 */
export function resolveNvsRows(rows: NvsCsvRow[], options: { readFile?: ReadFile; file?: string } = {}): NvsItem[] {
    const items: NvsItem[] = [];
    const utf8 = new TextEncoder();
    for (const row of rows) {
        const base = { file: options.file, line: row.line };
        const type = row.type.trim().toLowerCase();
        const key = row.key;
        const keyBytes = utf8.encode(key).length;
        if (keyBytes > MAX_KEY_LENGTH) {
            throw new EspError(
                "ESP_ERR_NVS_KEY_TOO_LONG",
                `key '${key}' is ${keyBytes} bytes; NVS keys are at most ${MAX_KEY_LENGTH}`,
                { ...base, field: "key" },
            );
        }
        if (keyBytes === 0) throw new EspError("ESP_ERR_NVS_INVALID_NAME", "empty key", { ...base, field: "key" });
        if (type === "namespace") {
            items.push({ kind: "namespace", name: key, line: row.line });
            continue;
        }
        if (type !== "data" && type !== "file") {
            throw new DiagnosticError("ESP_ERR_NOT_SUPPORTED", `type '${row.type}' is not one of namespace, data, file`, { ...base, field: "type" });
        }
        const encoding = row.encoding.trim().toLowerCase();
        const ctx = { ...base, field: "value", key };
        let raw: Uint8Array | undefined;
        if (type === "file") {
            if (!options.readFile) {
                throw new DiagnosticError("NVS_CSV_FILE_ROW", `${key}: file rows need a file reader`, ctx);
            }
            try {
                raw = options.readFile(row.value);
            } catch (e) {
                if (e instanceof DiagnosticError) throw e.withContext({ line: row.line, field: "value" });
                throw new DiagnosticError("ENOENT", `${key}: cannot read file '${row.value}'`, ctx);
            }
        }
        const text = (): string => (raw === undefined ? row.value : utf8Decode(raw, ctx));
        const bytes = (): Uint8Array => (raw === undefined ? utf8.encode(row.value) : raw);

        if (encoding in INT_TYPES) {
            const t = INT_TYPES[encoding as IntTypeName];
            const v = parseCsvInteger(text());
            if (v === undefined) {
                throw new EspError("ESP_ERR_INVALID_ARG", `${key}: '${text().slice(0, 40)}' is not a decimal or 0x-hex integer`, ctx);
            }
            if (v < t.min || v > t.max) {
                throw new EspError("ESP_ERR_INVALID_ARG", `${key}: ${v} is out of range for ${encoding} (${t.min}..${t.max})`, ctx);
            }
            items.push({ kind: "int", key, type: encoding as IntTypeName, value: v, line: row.line });
            continue;
        }
        switch (encoding) {
            case "string": {
                const s = utf8.encode(text());
                const withNul = new Uint8Array(s.length + 1);
                withNul.set(s);
                items.push({ kind: "string", key, bytes: withNul, line: row.line });
                continue;
            }
            case "hex2bin":
                items.push({ kind: "blob", key, bytes: decodeHex(text(), ctx), line: row.line });
                continue;
            case "base64":
                items.push({ kind: "blob", key, bytes: decodeBase64(text(), ctx), line: row.line });
                continue;
            case "binary":
                // sized by UTF-8 bytes (the generator counts characters: a bug we do not copy)
                items.push({ kind: "blob", key, bytes: bytes(), line: row.line });
                continue;
        }
        const rawEncoding = row.encoding.trim();
        const fill = parseFillEncoding(rawEncoding);
        if (!fill && (rawEncoding.startsWith("blob_fill") || rawEncoding.startsWith("blob_sz_fill"))) {
            throw new EspError("ESP_ERR_INVALID_ARG", `${key}: invalid encoding format '${row.encoding}' (blob_fill(N;0xPP): N decimal, PP two hex digits)`, { ...base, field: "encoding" });
        }
        if (fill) {
            const data = bytes();
            if (fill.fill > 0xff) {
                throw new EspError("ESP_ERR_INVALID_ARG", `${key}: fill byte ${fill.fill} is not a byte`, { ...base, field: "encoding" });
            }
            // checked before the padding is allocated: N comes straight from the CSV (blob_fill(99999999999;…))
            if (fill.size + (fill.withSize ? 4 : 0) > BLOB_MAX_SIZE) {
                throw new EspError(
                    "ESP_ERR_NVS_VALUE_TOO_LONG",
                    `${key}: fill size ${fill.size}${fill.withSize ? " + 4" : ""} bytes exceeds NVS's blob limit of ${BLOB_MAX_SIZE}`,
                    { ...base, field: "encoding" },
                );
            }
            if (data.length > fill.size) {
                throw new EspError("ESP_ERR_NVS_VALUE_TOO_LONG", `${key}: value is ${data.length} bytes, longer than the fill size ${fill.size}`, ctx);
            }
            const prefix = fill.withSize ? 4 : 0;
            const out = new Uint8Array(prefix + fill.size).fill(fill.fill);
            if (fill.withSize) new DataView(out.buffer).setUint32(0, data.length, true);
            out.set(data, prefix);
            items.push({ kind: "blob", key, bytes: out, line: row.line });
            continue;
        }
        throw new DiagnosticError(
            "ESP_ERR_NOT_SUPPORTED",
            `unknown encoding '${row.encoding}' (u8 i8 u16 i16 u32 i32 u64 i64 string hex2bin base64 binary blob_fill(N;0xPP) blob_sz_fill(N;0xPP))`,
            { ...base, field: "encoding" },
        );
    }
    return items;
}
