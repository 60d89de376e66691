/** Argument parsers shared by the commands: hex or decimal numbers, ranges, base64. They throw UsageError. */
import { InvalidArgumentError } from "commander";
import { CHIPS, type ChipName } from "../../emulator/efuse/chips.js";

/** Parses `0x…` hex or decimal into a safe integer; commander reports the InvalidArgumentError as a usage error. */
export function parseNumber(value: string, what = "number"): number {
    const v = value.trim();
    const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v.slice(2), 16) : /^[0-9]+$/.test(v) ? parseInt(v, 10) : NaN;
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${what} must be a decimal or 0x-hex integer, got '${value}'`);
    return n;
}

/** A commander option parser for a number in [min, max]. */
export function intIn(min: number, max: number, what: string) {
    return (value: string): number => {
        const n = parseNumber(value, what);
        if (n < min || n > max) {
            throw new InvalidArgumentError(`${what} must be in ${fmt(min)}..${fmt(max)}, got ${value}`);
        }
        return n;
    };
}

/** Accepts sizes like 0x6000, 24576, 24K, 4MB. */
export function parseSize(value: string, what = "size"): number {
    const m = /^(0x[0-9a-f]+|[0-9]+)\s*([kKmM]i?[bB]?)?$/.exec(value.trim());
    if (!m) throw new InvalidArgumentError(`${what} must be a number with an optional K/M suffix, got '${value}'`);
    const base = parseNumber(m[1]!, what);
    const unit = m[2]?.[0]?.toUpperCase();
    return unit === "K" ? base * 1024 : unit === "M" ? base * 1024 * 1024 : base;
}

export function parseBase64(value: string, what: string): Uint8Array {
    const v = value.trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
        throw new InvalidArgumentError(`${what} must be base64, got '${value}'`);
    }
    return new Uint8Array(Buffer.from(v, "base64"));
}

function fmt(n: number): string {
    return n > 0xffff ? String(n) : n >= 0x100 ? `0x${n.toString(16)}` : String(n);
}

/** `--chip` of the virtual ESP32 commands: one of the chips the eFuse model knows (esp32-c3 spelling accepted). */
export function chipArg(value: string): ChipName {
    const c = value.trim().toLowerCase().replace(/-/g, "");
    if (!(CHIPS as readonly string[]).includes(c)) throw new InvalidArgumentError(`--chip must be one of ${CHIPS.join(", ")}, got '${value}'`);
    return c as ChipName;
}
