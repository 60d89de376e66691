/**
 * The normalized, validated settings of one `generate` batch (esp-matter-mfg-tool v1.0.23 flag semantics plus
 * mfgsim's additions). Plain data: it is sent to the worker threads as is.
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { isValidPasscode } from "../onboarding/rules.js";

export const PRODUCT_FINISH = ["other", "matte", "satin", "polished", "rugged", "fabric"] as const;
export const PRODUCT_COLOR = [
    "black", "navy", "green", "teal", "maroon", "purple", "olive", "gray", "blue", "lime", "aqua", "red", "fuchsia",
    "yellow", "white", "nickel", "chrome", "brass", "copper", "silver", "gold",
] as const;
export const CALENDAR_TYPES = [
    "Buddhist", "Chinese", "Coptic", "Ethiopian", "Gregorian", "Hebrew", "Indian", "Islamic", "Japanese", "Korean", "Persian", "Taiwanese",
] as const;

export interface MfgConfig {
    count: number;
    target: string;
    size: number;
    encrypt: boolean;
    outdir: string;
    generateBin: boolean;
    secureCertBin: boolean;
    passcode?: number;
    discriminator?: number;
    commissioningFlow: 0 | 1 | 2;
    discoveryMode: number;
    dynamicPasscode: boolean;
    iterationCount: number;
    /** base64, checked against --passcode */
    salt?: string;
    verifier?: string;
    commissionableDataInSecureCert: boolean;
    dacInSecureCert: boolean;
    rdIdUidInSecureCert: boolean;
    lifetimeDays: number;
    /** ISO date-time (UTC) of notBefore; undefined = now (or the fixed seeded default). */
    validFrom?: string;
    cnPrefix: string;
    attestation: "paa" | "pai" | "none";
    cert?: string;
    key?: string;
    certDclrn?: string;
    dacCert?: string;
    dacKey?: string;
    vendorId: number;
    productId: number;
    vendorName?: string;
    productName?: string;
    hwVer?: number;
    hwVerStr?: string;
    /** Normalized YYYYMMDD[suffix]. */
    mfgDate?: string;
    serialNum?: string;
    enableRotatingDeviceId: boolean;
    /** 32 hex chars */
    rdIdUid?: string;
    productFinish?: number;
    productColor?: number;
    partNumber?: string;
    calendarTypes?: string[];
    locales?: string[];
    fixedLabels?: string[];
    supportedModes?: string[];
    productLabel?: string;
    productUrl?: string;
    csv?: string;
    mcsv?: string;
    seed?: string;
    jobs: number;
    shard?: { k: number; n: number };
    resume: boolean;
    svg: boolean;
}

export function usage(message: string, field?: string, code = "CHIP_ERROR_INVALID_ARGUMENT"): DiagnosticError {
    return new DiagnosticError(code, message, field === undefined ? {} : { field }, 2);
}

function strLen(value: string | undefined, min: number, max: number, flag: string): void {
    if (value === undefined) return;
    const n = Buffer.byteLength(value, "utf8");
    if (n < min || n > max) throw usage(`${flag} must be ${min}..${max} bytes long, got ${n}`, flag);
}

function intRange(value: number | undefined, min: number, max: number, flag: string): void {
    if (value === undefined) return;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
        throw usage(`${flag} must be in ${min}..${max} (0x${max.toString(16)}), got ${value}`, flag);
    }
}

/**
 * --mfg-date: mfg_tool documents YYYY-MM-DD but only accepts YYYYMMDD; both are accepted here and stored as
 * YYYYMMDD (the device-side provider reads YYYYMMDD), optionally followed by up to 8 vendor characters.
 */
export function normalizeMfgDate(value: string): string {
    const m = /^(\d{4})-?(\d{2})-?(\d{2})(.*)$/s.exec(value);
    if (!m || (value[4] === "-") !== (value[7] === "-")) {
        throw usage(`--mfg-date must be YYYYMMDD or YYYY-MM-DD (optionally followed by up to 8 vendor characters), got '${value}'`, "--mfg-date");
    }
    const [, y, mo, d, suffix] = m as unknown as [string, string, string, string, string];
    const month = Number(mo);
    const day = Number(d);
    const days = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
    if (month < 1 || month > 12 || day < 1 || day > days) throw usage(`--mfg-date ${value} is not a calendar date`, "--mfg-date");
    const out = `${y}${mo}${d}${suffix}`;
    strLen(out, 8, 16, "--mfg-date");
    return out;
}

/** -vf/--valid-from: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DD HH:MM:SS` (UTC) → ISO string. */
export function normalizeValidFrom(value: string): string {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2}))?Z?$/.exec(value.trim());
    if (!m) throw usage(`--valid-from must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, got '${value}'`, "--valid-from");
    const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)));
    if (Number.isNaN(d.getTime()) || d.getUTCDate() !== +m[3]!) throw usage(`--valid-from ${value} is not a valid date`, "--valid-from");
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function parseShard(value: string): { k: number; n: number } {
    const m = /^(\d+)\/(\d+)$/.exec(value.trim());
    const k = m ? Number(m[1]) : NaN;
    const n = m ? Number(m[2]) : NaN;
    if (!m || n < 1 || k < 1 || k > n) throw usage(`--shard must be k/n with 1 ≤ k ≤ n, got '${value}'`, "--shard");
    return { k, n };
}

export function enumValue(value: string, names: readonly string[], flag: string): number {
    const i = names.findIndex(n => n.toLowerCase() === value.trim().toLowerCase());
    if (i >= 0) return i;
    if (/^\d+$/.test(value.trim()) && Number(value) < names.length) return Number(value);
    throw usage(`${flag} must be one of ${names.join(", ")}, got '${value}'`, flag);
}

/** Fixed label `<ep hex>/<label 1..15>/<value 1..15>` (mfg_tool's get_fixed_label_dict rules). */
export function parseFixedLabel(fl: string): { ep: number; label: string; value: string } {
    const parts = fl.split("/");
    if (parts.length !== 3 || !/^[0-9a-fA-F]{1,4}$/.test(parts[0]!) || !(parts[1]!.length > 0 && parts[1]!.length < 16) || !(parts[2]!.length > 0 && parts[2]!.length < 16)) {
        throw usage(`invalid fixed label '${fl}': expected <endpoint hex>/<label, 1-15 chars>/<value, 1-15 chars>`, "--fixed-labels");
    }
    return { ep: parseInt(parts[0]!, 16), label: parts[1]!, value: parts[2]! };
}

export interface SupportedMode {
    ep: number;
    mode: number;
    label: string;
    tags: Array<{ value: number; mfgCode: number }>;
}

/** Supported mode `mode/label/ep[/"value\mfgCode, value\mfgCode"]` (mfg_tool's get_supported_modes_dict). */
export function parseSupportedMode(s: string): SupportedMode {
    const parts = s.split("/");
    const bad = (): DiagnosticError => usage(`invalid supported mode '${s}': expected <mode>/<label>/<endpoint>[/"<tag value>\\<mfg code hex>, …"]`, "--supported-modes");
    if (parts.length < 3 || parts.length > 4 || !/^\d+$/.test(parts[0]!) || !/^\d+$/.test(parts[2]!) || parts[1]!.length === 0) throw bad();
    const tags: SupportedMode["tags"] = [];
    if (parts.length === 4) {
        for (const t of parts[3]!.replace(/^"|"$/g, "").split(", ")) {
            const [v, mfg] = t.split("\\");
            if (v === undefined || mfg === undefined || !/^\d+$/.test(v) || !/^(0x)?[0-9a-fA-F]+$/.test(mfg)) throw bad();
            tags.push({ value: Number(v), mfgCode: parseInt(mfg.replace(/^0x/i, ""), 16) });
        }
    }
    return { ep: Number(parts[2]), mode: Number(parts[0]), label: parts[1]!, tags };
}

/** Cross-flag rules of mfg_tool's validate_args, with the passcode range check that mfg_tool never applies. */
export function validateConfig(c: MfgConfig): void {
    intRange(c.vendorId, 0, 0xffff, "--vendor-id");
    intRange(c.productId, 0, 0xffff, "--product-id");
    intRange(c.hwVer, 0, 0xffff, "--hw-ver");
    intRange(c.discriminator, 0, 0xfff, "--discriminator");
    intRange(c.discoveryMode, 0, 7, "--discovery-mode");
    intRange(c.iterationCount, 1000, 100000, "--iteration-count");
    intRange(c.lifetimeDays, 1, 0x7fffffff, "--lifetime");
    intRange(c.size, 0x3000, 0x10000000, "--size");
    if (c.size % 4096 !== 0) throw usage(`--size must be a multiple of 4096 (0x1000), got 0x${c.size.toString(16)}`, "--size");
    if (c.count < 1) throw usage(`--count must be at least 1, got ${c.count}`, "--count");
    // an empty seed is almost always an unset variable (--seed "$SEED"): refuse it rather than make an "" batch
    if (c.seed !== undefined && c.seed.trim() === "") throw usage("--seed must not be empty (an unset variable?)", "--seed");
    if (c.passcode !== undefined && !isValidPasscode(c.passcode)) {
        throw usage(`invalid passcode ${c.passcode}: must be 1..99999998 and not one of the trivial passcodes (Matter spec 5.1.7.1)`, "--passcode");
    }
    strLen(c.serialNum, 1, 32, "--serial-num");
    strLen(c.vendorName, 1, 32, "--vendor-name");
    strLen(c.productName, 1, 32, "--product-name");
    strLen(c.hwVerStr, 1, 64, "--hw-ver-str");
    strLen(c.partNumber, 1, 32, "--part-number");
    strLen(c.productLabel, 1, 64, "--product-label");
    strLen(c.productUrl, 1, 256, "--product-url");
    if (c.rdIdUid !== undefined && !/^[0-9a-fA-F]{32}$/.test(c.rdIdUid)) throw usage("--rd-id-uid must be 32 hex characters (16 bytes)", "--rd-id-uid");
    for (const ct of c.calendarTypes ?? []) {
        if (!CALENDAR_TYPES.includes(ct as (typeof CALENDAR_TYPES)[number])) {
            throw usage(`unknown calendar type '${ct}' (supported: ${CALENDAR_TYPES.join(", ")})`, "--calendar-types");
        }
    }
    c.fixedLabels?.forEach(parseFixedLabel);
    c.supportedModes?.forEach(parseSupportedMode);
    if ((c.csv === undefined) !== (c.mcsv === undefined)) throw usage("--csv and --mcsv must be given together", c.csv === undefined ? "--csv" : "--mcsv");
    if ((c.dacKey === undefined) !== (c.dacCert === undefined)) throw usage("--dac-cert and --dac-key must be given together", "--dac-cert");
    if (c.dacKey !== undefined && c.attestation !== "pai") throw usage("--dac-cert/--dac-key need --pai with its certificate (-c)", "--dac-cert");
    if (c.attestation !== "none" && c.dacCert === undefined && (c.cert === undefined || c.key === undefined)) {
        throw usage(`--${c.attestation} needs the ${c.attestation.toUpperCase()} certificate (-c) and key (-k)`, "--cert");
    }
    if (c.attestation === "pai" && c.dacCert !== undefined && c.cert === undefined) throw usage("--pai needs the PAI certificate (-c)", "--cert");
    if ((c.salt !== undefined || c.verifier !== undefined) && c.passcode === undefined) {
        throw usage("--salt/--verifier need --passcode (the verifier is recomputed from it and checked)", c.salt !== undefined ? "--salt" : "--verifier");
    }
    if (c.verifier !== undefined && c.salt === undefined) throw usage("--verifier needs the --salt it was made with", "--verifier");
    if (c.salt !== undefined) {
        const n = Buffer.from(c.salt, "base64").length;
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(c.salt) || n < 16 || n > 32) throw usage(`--salt must be base64 of 16..32 bytes, got ${n} bytes`, "--salt");
    }
    if (c.dynamicPasscode && (c.passcode !== undefined || c.verifier !== undefined)) {
        throw usage("--enable-dynamic-passcode stores no verifier: drop --passcode/--verifier", "--enable-dynamic-passcode");
    }
    const oneOnly = c.discriminator !== undefined || c.passcode !== undefined || c.dacKey !== undefined || c.serialNum !== undefined || c.rdIdUid !== undefined;
    if (oneOnly && c.count !== 1) {
        throw usage("--count must be 1 when --discriminator, --passcode, --dac-cert/--dac-key, --serial-num or --rd-id-uid is given (one device per fixed value)", "--count");
    }
    if ((c.dacInSecureCert || c.commissionableDataInSecureCert) && c.attestation === "none") {
        throw usage("--dac-in-secure-cert and --commissionable-data-in-secure-cert need DACs: give --pai or --paa with -c/-k", "--dac-in-secure-cert");
    }
    if (c.commissionableDataInSecureCert && !c.dacInSecureCert) {
        throw usage("--commissionable-data-in-secure-cert needs --dac-in-secure-cert", "--commissionable-data-in-secure-cert");
    }
    if (c.rdIdUidInSecureCert && !c.commissionableDataInSecureCert) {
        throw usage("--rd-id-uid-in-secure-cert needs --commissionable-data-in-secure-cert", "--rd-id-uid-in-secure-cert");
    }
    intRange(c.jobs, 1, 1024, "--jobs");
}
