/**
 * Partition table CSV ⇄ entries, following gen_esp32part.py (ESP-IDF v5.5): `PartitionTable.from_csv`,
 * `verify`, `verify_size_fits` and `to_csv`. Errors carry the CSV line and the gen_esp32part wording.
 */
import { DiagnosticError } from "../esp_common/err.js";
import {
    DataSubtype,
    FLAG_BITS,
    type FlagName,
    NVS_RW_MIN_PARTITION_SIZE,
    OTADATA_SIZE,
    PARTITION_TABLE_OFFSET,
    PARTITION_TABLE_SIZE,
    type PartitionEntry,
    PartitionType,
    SUBTYPE_NAMES,
    TYPE_NAMES,
    flagNames,
    subtypeName,
    typeName,
} from "./types.js";

/** gen_esp32part's InputError / ValidationError. `code` is PARTITION_TABLE_CSV or PARTITION_TABLE_INVALID. */
export class PartitionTableError extends DiagnosticError {
    override name = "PartitionTableError";
}

export interface CsvOptions {
    /** Table offset (gen_esp32part --offset), default 0x8000. */
    offset?: number;
    /** Check that the table fits (gen_esp32part --flash-size), bytes. */
    flashSize?: number;
    /** Run `verify()` (default true; gen_esp32part --no-verify turns it off). */
    verify?: boolean;
    /** `--secure v1|v2`: app size alignment (v1: 64 KiB; v2 and none: 4 KiB). */
    secure?: "v1" | "v2";
    /** `--primary-bootloader-offset` / `--recovery-bootloader-offset` for bootloader rows. */
    primaryBootloaderOffset?: number;
    recoveryBootloaderOffset?: number;
    /** Values for `$VARS` in the CSV (os.path.expandvars); unknown ones are an error. */
    vars?: Record<string, string>;
}

function csvError(message: string, line?: number): PartitionTableError {
    return new PartitionTableError("PARTITION_TABLE_CSV", message, line !== undefined ? { line } : {});
}

function validationError(e: PartitionEntry, message: string): PartitionTableError {
    return new PartitionTableError(
        "PARTITION_TABLE_INVALID",
        `Partition ${e.name} invalid: ${message}`,
        e.line !== undefined ? { line: e.line, field: e.name } : { field: e.name },
    );
}

/** Python `int(s, 0)`: optional sign, 0x/0o/0b prefixes, underscores between digits, no leading zeros. */
export function pyInt0(text: string): number | undefined {
    const s = text.trim();
    const m = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?[0-9])*|0(?:_?0)*)$/.exec(s);
    if (!m) return undefined;
    const body = m[2]!.replace(/_/g, "");
    const lower = body.toLowerCase();
    let v: number;
    if (lower.startsWith("0x")) v = parseInt(lower.slice(2), 16);
    else if (lower.startsWith("0o")) v = parseInt(lower.slice(2), 8);
    else if (lower.startsWith("0b")) v = parseInt(lower.slice(2), 2);
    else v = parseInt(lower, 10);
    if (!Number.isSafeInteger(v)) return undefined;
    return m[1] === "-" ? -v : v;
}

/** gen_esp32part `parse_int`: int(x, 0) with k/m suffixes, else a keyword. */
function parseInt0(v: string, keywords: ReadonlyArray<readonly [string, number]>, line: number): number {
    const lower = v.toLowerCase();
    for (const [letter, mult] of [["k", 1024], ["m", 1024 * 1024]] as const) {
        if (lower.endsWith(letter)) return parseInt0(v.slice(0, -1), keywords, line) * mult;
    }
    const n = pyInt0(v);
    if (n !== undefined) return n;
    if (keywords.length === 0) throw csvError(`Invalid field value ${v}`, line);
    const kw = keywords.find(([k]) => k === lower);
    if (kw === undefined) {
        throw csvError(`Value '${v}' is not valid. Known keywords: ${keywords.map(([k]) => k).join(", ")}`, line);
    }
    return kw[1];
}

function expandVars(line: string, vars: Record<string, string>, lineNo: number): string {
    return line.replace(/(\\?)\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (all, esc: string, _b, braced?: string, plain?: string) => {
        if (esc) return all;
        const name = (braced ?? plain)!;
        const value = vars[name];
        if (value === undefined) throw csvError(`unknown variable '${name}'`, lineNo);
        return value;
    });
}

interface RawRow {
    entry: PartitionEntry;
    offset: number | undefined;
}

function parseRow(line: string, lineNo: number, opts: Required<Pick<CsvOptions, "offset">> & CsvOptions): RawRow {
    const fields = (line + ",,,,").split(",").map(f => f.trim());
    const name = fields[0]!;
    if (fields[1] === "") throw csvError("Field 'type' can't be left empty.", lineNo);
    const type = parseInt0(fields[1]!, TYPE_NAMES, lineNo);
    if (type < 0 || type > 0xff) throw csvError(`type 0x${type.toString(16)} does not fit in a byte`, lineNo);
    let subtype: number;
    if (fields[2] === "") {
        if (type === PartitionType.APP) throw csvError("App partition cannot have an empty subtype", lineNo);
        subtype = DataSubtype.UNDEFINED;
    } else {
        subtype = parseInt0(fields[2]!, SUBTYPE_NAMES.get(type) ?? [], lineNo);
    }
    if (subtype < 0 || subtype > 0xff) throw csvError(`subtype 0x${subtype.toString(16)} does not fit in a byte`, lineNo);

    let offset: number | undefined;
    let size: number | undefined;
    if (type === PartitionType.BOOTLOADER && subtype === 0x00) {
        if (opts.primaryBootloaderOffset === undefined) throw csvError("Primary bootloader offset is not provided", lineNo);
        offset = opts.primaryBootloaderOffset;
    } else if (type === PartitionType.BOOTLOADER && subtype === 0x02) {
        if (opts.recoveryBootloaderOffset === undefined) throw csvError("Recovery bootloader offset is not provided", lineNo);
        offset = opts.recoveryBootloaderOffset;
    } else if (type === PartitionType.PARTITION_TABLE && subtype === 0x00) {
        offset = opts.offset;
    } else if (fields[3] !== "") {
        offset = parseInt0(fields[3]!, [], lineNo);
    }
    if (type === PartitionType.BOOTLOADER) {
        if (opts.primaryBootloaderOffset === undefined) throw csvError("Primary bootloader offset is not provided", lineNo);
        size = opts.offset - opts.primaryBootloaderOffset;
    } else if (type === PartitionType.PARTITION_TABLE) {
        size = PARTITION_TABLE_SIZE;
    } else if (fields[4] !== "") {
        size = parseInt0(fields[4]!, [], lineNo);
    }
    if (size === undefined) throw csvError("Size field can't be empty", lineNo);

    let encrypted = false;
    let readonly = false;
    for (const flag of fields[5]!.split(":")) {
        if (flag in FLAG_BITS) {
            if ((flag as FlagName) === "encrypted") encrypted = true;
            else readonly = true;
        } else if (flag.length > 0) {
            throw csvError(`CSV flag column contains unknown flag '${flag}'`, lineNo);
        }
    }
    return { entry: { name, type, subtype, offset: offset ?? -1, size, encrypted, readonly, line: lineNo }, offset };
}

/** Parses a partition CSV like `gen_esp32part.py` (fills offsets, resolves negative sizes, then verifies). */
export function parsePartitionCsv(text: string, options: CsvOptions = {}): PartitionEntry[] {
    const opts = { ...options, offset: options.offset ?? PARTITION_TABLE_OFFSET };
    const vars = options.vars ?? {};
    const rows: RawRow[] = [];
    const lines = text.split(/\r\n|\r|\n/);
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    lines.forEach((raw, i) => {
        const lineNo = i + 1;
        const line = expandVars(raw, vars, lineNo).trim();
        if (line.startsWith("#") || line.length === 0) return;
        rows.push(parseRow(line, lineNo, opts));
    });

    // fix up missing offsets & negative sizes (PartitionTable.from_csv)
    let lastEnd = opts.offset + PARTITION_TABLE_SIZE;
    rows.forEach((row, idx) => {
        const e = row.entry;
        const primary = (e.type === PartitionType.BOOTLOADER || e.type === PartitionType.PARTITION_TABLE) && e.subtype === 0;
        if (primary) return;
        if (row.offset !== undefined && row.offset < lastEnd) {
            if (idx === 0) {
                throw csvError(
                    `CSV Error at line ${e.line}: Partitions overlap. Partition sets offset 0x${hex(row.offset)}. ` +
                        `But partition table occupies the whole sector 0x${hex(opts.offset)}. Use a free offset 0x${hex(lastEnd)} or higher.`,
                    e.line,
                );
            }
            throw csvError(
                `CSV Error at line ${e.line}: Partitions overlap. Partition sets offset 0x${hex(row.offset)}. Previous partition ends 0x${hex(lastEnd)}`,
                e.line,
            );
        }
        if (row.offset === undefined) {
            const padTo = alignmentOffsetForType(e.type);
            if (lastEnd % padTo !== 0) lastEnd += padTo - (lastEnd % padTo);
            e.offset = lastEnd;
        } else {
            e.offset = row.offset;
        }
        if (e.size < 0) e.size = -e.size - e.offset;
        lastEnd = e.offset + e.size;
    });
    const entries = rows.map(r => r.entry);
    if (options.verify ?? true) verifyPartitionTable(entries, opts);
    if (options.flashSize !== undefined) verifySizeFits(entries, options.flashSize);
    return entries;
}

export function alignmentOffsetForType(type: number): number {
    return type === PartitionType.APP ? 0x10000 : 0x1000;
}

function alignmentSizeForType(type: number, secure?: "v1" | "v2"): number {
    if (type === PartitionType.APP) return secure === "v1" ? 0x10000 : 0x1000;
    return 1;
}

function hex(n: number): string {
    return n.toString(16);
}

/** gen_esp32part `PartitionDefinition.verify` + `PartitionTable.verify`. */
export function verifyPartitionTable(entries: readonly PartitionEntry[], options: Pick<CsvOptions, "offset" | "secure"> = {}): void {
    const tableOffset = options.offset ?? PARTITION_TABLE_OFFSET;
    for (const p of entries) {
        const offsetAlign = alignmentOffsetForType(p.type);
        if (p.offset % offsetAlign) throw validationError(p, `Offset 0x${hex(p.offset)} is not aligned to 0x${hex(offsetAlign)}`);
        if (p.type === PartitionType.APP) {
            const sizeAlign = alignmentSizeForType(p.type, options.secure);
            if (p.size % sizeAlign) throw validationError(p, `Size 0x${hex(p.size)} is not aligned to 0x${hex(sizeAlign)}`);
        }
        if (p.type === PartitionType.DATA && (p.subtype === DataSubtype.OTA || p.subtype === DataSubtype.COREDUMP) && p.readonly) {
            throw validationError(
                p,
                `'${p.name}' partition of type ${p.type} and subtype ${p.subtype} is always read-write and cannot be read-only`,
            );
        }
        if (p.type === PartitionType.DATA && p.subtype === DataSubtype.NVS && p.size < NVS_RW_MIN_PARTITION_SIZE && !p.readonly) {
            throw validationError(
                p,
                `'${p.name}' partition of type ${p.type} and subtype ${p.subtype} of this size (0x${hex(p.size)}) must be flagged as 'readonly' ` +
                    `(the size of read/write NVS has to be at least 0x${hex(NVS_RW_MIN_PARTITION_SIZE)})`,
            );
        }
        if (new TextEncoder().encode(p.name).length > 16) {
            throw validationError(p, `name '${p.name}' is longer than 16 bytes (gen_esp32part would silently truncate it)`);
        }
        if (p.size <= 0 || p.offset < 0 || p.offset + p.size > 0xffffffff + 1) {
            throw validationError(p, `offset 0x${hex(p.offset)} / size 0x${hex(p.size)} out of range`);
        }
    }
    const seen = new Map<string, PartitionEntry>();
    for (const p of entries) {
        const prev = seen.get(p.name);
        if (prev) {
            throw new PartitionTableError("PARTITION_TABLE_INVALID", `Partition names must be unique ('${p.name}' on lines ${prev.line} and ${p.line})`, {
                ...(p.line !== undefined ? { line: p.line } : {}),
                field: p.name,
            });
        }
        seen.set(p.name, p);
    }
    let last: PartitionEntry | undefined;
    for (const p of [...entries].sort((a, b) => a.offset - b.offset)) {
        const primary = (p.type === PartitionType.BOOTLOADER || p.type === PartitionType.PARTITION_TABLE) && p.subtype === 0;
        if (p.offset < tableOffset + PARTITION_TABLE_SIZE && !primary) {
            throw new PartitionTableError(
                "PARTITION_TABLE_INVALID",
                `Partition offset 0x${hex(p.offset)} is below 0x${hex(tableOffset + PARTITION_TABLE_SIZE)}`,
                p.line !== undefined ? { line: p.line, field: p.name } : { field: p.name },
            );
        }
        if (last !== undefined && p.offset < last.offset + last.size) {
            throw new PartitionTableError(
                "PARTITION_TABLE_INVALID",
                `Partition at 0x${hex(p.offset)} overlaps 0x${hex(last.offset)}-0x${hex(last.offset + last.size - 1)}`,
                p.line !== undefined ? { line: p.line, field: p.name } : { field: p.name },
            );
        }
        last = p;
    }
    for (const [sub, what] of [[DataSubtype.OTA, "otadata"], [DataSubtype.TEE_OTA, "TEE otadata"]] as const) {
        const ota = entries.filter(p => p.type === PartitionType.DATA && p.subtype === sub);
        if (ota.length > 1) {
            throw new PartitionTableError(
                "PARTITION_TABLE_INVALID",
                `Found multiple ${what} partitions (${ota.map(p => p.name).join(", ")}). Only one partition can be defined with type="data"(1) and subtype=0x${hex(sub)}.`,
                ota[1]!.line !== undefined ? { line: ota[1]!.line } : {},
            );
        }
        if (ota.length === 1 && ota[0]!.size !== OTADATA_SIZE) {
            throw new PartitionTableError("PARTITION_TABLE_INVALID", `${what} partition must have size = 0x2000`, {
                ...(ota[0]!.line !== undefined ? { line: ota[0]!.line } : {}),
                field: ota[0]!.name,
            });
        }
    }
}

/** The offset the last partition ends at (PartitionTable.flash_size). */
export function tableFlashEnd(entries: readonly PartitionEntry[]): number {
    let end = 0;
    let lastOffset = -1;
    for (const e of entries) {
        if (e.offset > lastOffset) {
            lastOffset = e.offset;
            end = e.offset + e.size;
        }
    }
    return end;
}

export function verifySizeFits(entries: readonly PartitionEntry[], flashSize: number): void {
    const used = tableFlashEnd(entries);
    if (flashSize < used) {
        const mb = 1024 * 1024;
        throw new PartitionTableError(
            "PARTITION_TABLE_INVALID",
            `Partitions tables occupies ${(used / mb).toFixed(1)}MB of flash (${used} bytes) which does not fit in configured flash size ${flashSize / mb}MB.`,
        );
    }
}

/** gen_esp32part `to_csv()` (not simple formatting): keywords for known types, sizes as K/M when exact. */
export function partitionTableToCsv(entries: readonly PartitionEntry[], options: { simpleFormatting?: boolean } = {}): string {
    const simple = options.simpleFormatting ?? false;
    const addr = (a: number, sizes: boolean): string => {
        if (!simple && sizes) {
            if (a % 0x100000 === 0) return `${a / 0x100000}M`;
            if (a % 0x400 === 0) return `${a / 0x400}K`;
        }
        return `0x${hex(a)}`;
    };
    const rows = ["# ESP-IDF Partition Table", "# Name, Type, SubType, Offset, Size, Flags"];
    for (const e of entries) {
        const t = simple ? undefined : typeName(e.type);
        const s = simple ? undefined : subtypeName(e.type, e.subtype);
        rows.push([e.name, t ?? String(e.type), s ?? String(e.subtype), addr(e.offset, false), addr(e.size, true), flagNames(e).join(":")].join(","));
    }
    return rows.join("\n") + "\n";
}
