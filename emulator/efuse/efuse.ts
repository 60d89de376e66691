/**
 * A chip's eFuses: one-way bits (burning ORs bits in; clearing one is an error), write/read protection, and the
 * derived security state the bootloader reads (flash encryption on/mode/key, secure boot digests, anti-rollback
 * SECURE_VERSION). Loads and writes JSON shaped like `espefuse summary --format json`: an object keyed by eFuse
 * name with {name, value, readable, writeable, description, category, block, word, pos, efuse_type, bit_len}.
 */
import { DiagnosticError } from "../esp_common/err.js";
import { CHIP_DEFS, CHIPS, type ChipDef, type ChipName, type EfuseFieldDef, KEY_PURPOSES, KeyPurpose, efuseTypeString, keyPurposeName } from "./chips.js";

/** An eFuse problem: code is ESP-IDF's (ESP_ERR_EFUSE, ESP_ERR_EFUSE_REPEATED_PROG, ESP_ERR_EFUSE_CNT_IS_FULL) or EFUSE_JSON_INVALID. */
export class EfuseError extends DiagnosticError {
    override name = "EfuseError";
}

type Value = bigint | Uint8Array;

export interface SummaryEntry {
    name: string;
    value: boolean | number | string;
    readable: boolean;
    writeable: boolean;
    description: string;
    category: string;
    block: number;
    word: number | null;
    pos: number | null;
    efuse_type: string;
    bit_len: number;
    /** mfgsim extra: the real bytes of a read-protected block, only with `includeProtected` (never in a real summary). */
    raw?: string;
}

export type EfuseSummary = Record<string, SummaryEntry>;

export interface SecureBootDigest {
    /** Digest slot 0..2 (SECURE_BOOT_DIGESTn / ESP32: 0 = BLOCK2). */
    index: number;
    /** The eFuse block name holding it. */
    block: string;
    digest: Uint8Array;
}

export type FlashEncryptionMode = "disabled" | "development" | "release";

function popcount(v: bigint): number {
    let n = 0;
    for (let x = v; x > 0n; x >>= 1n) n += Number(x & 1n);
    return n;
}

function hexBytes(b: Uint8Array): string {
    return Array.from(b, x => x.toString(16).padStart(2, "0")).join(" ");
}

export class Efuses {
    readonly chip: ChipDef;
    private readonly values = new Map<string, Value>();
    /** Read-protected blocks whose contents we do not know (loaded as "??"). */
    private readonly unknown = new Set<string>();
    private readonly readProtected = new Set<string>();
    private readonly writeProtected = new Set<string>();
    /** Fields of a loaded summary we do not model; written back unchanged. */
    private readonly extra = new Map<string, SummaryEntry>();

    constructor(chip: ChipName = "esp32c3") {
        const def = CHIP_DEFS[chip];
        if (!def) throw new EfuseError("ESP_ERR_NOT_SUPPORTED", `unknown chip '${chip}' (${CHIPS.join(", ")})`);
        this.chip = def;
        for (const d of def.fields) this.values.set(d.name, d.kind === "bytes" ? new Uint8Array(d.bitLen / 8) : 0n);
    }

    /** A deep copy (to try a burn without committing, or to branch a scenario). */
    clone(): Efuses {
        const c = new Efuses(this.chip.name);
        for (const [k, v] of this.values) c.values.set(k, typeof v === "bigint" ? v : v.slice());
        for (const s of this.unknown) c.unknown.add(s);
        for (const s of this.readProtected) c.readProtected.add(s);
        for (const s of this.writeProtected) c.writeProtected.add(s);
        for (const [k, v] of this.extra) c.extra.set(k, { ...v });
        return c;
    }

    field(name: string): EfuseFieldDef {
        const d = this.chip.fields.find(x => x.name === name);
        if (!d) throw new EfuseError("ESP_ERR_NOT_FOUND", `${this.chip.title} has no eFuse named ${name}`, { field: name });
        return d;
    }

    has(name: string): boolean {
        return this.chip.fields.some(x => x.name === name);
    }

    /** The numeric value of a bool/uint/keypurpose field. */
    getInt(name: string): bigint {
        const d = this.field(name);
        if (d.kind === "bytes") throw new EfuseError("ESP_ERR_INVALID_ARG", `${name} is a ${d.bitLen / 8}-byte block, not a number`, { field: name });
        return this.values.get(name) as bigint;
    }

    getBool(name: string): boolean {
        return this.getInt(name) !== 0n;
    }

    /** Block bytes in eFuse memory order; undefined when read-protected and unknown. */
    getBytes(name: string): Uint8Array | undefined {
        const d = this.field(name);
        if (d.kind !== "bytes") throw new EfuseError("ESP_ERR_INVALID_ARG", `${name} is not a byte block`, { field: name });
        if (this.unknown.has(name)) return undefined;
        return (this.values.get(name) as Uint8Array).slice();
    }

    isReadable(name: string): boolean {
        this.field(name);
        return !this.readProtected.has(name);
    }

    isWriteable(name: string): boolean {
        this.field(name);
        return !this.writeProtected.has(name);
    }

    /**
     * Burns a field: the new value's bits are ORed in. Bits already 1 that `value` would clear are an error
     * (eFuses are one-way), as is a write-protected field or a value wider than the field.
     */
    burn(name: string, value: number | bigint | boolean | Uint8Array | string): void {
        const d = this.field(name);
        if (this.writeProtected.has(name)) {
            throw new EfuseError("ESP_ERR_EFUSE", `${name} is write-protected (WR_DIS); it cannot be burned any more`, { field: name });
        }
        if (d.kind === "bytes") {
            const bytes = typeof value === "string" ? parseHexBytes(value, name) : value;
            if (!(bytes instanceof Uint8Array) || bytes.length !== d.bitLen / 8) {
                throw new EfuseError("ESP_ERR_INVALID_ARG", `${name} takes exactly ${d.bitLen / 8} bytes`, { field: name });
            }
            if (this.unknown.has(name)) throw new EfuseError("ESP_ERR_EFUSE", `${name} is read-protected with unknown contents; cannot burn it`, { field: name });
            const cur = this.values.get(name) as Uint8Array;
            for (let i = 0; i < cur.length; i++) {
                if (cur[i]! & ~bytes[i]!) {
                    throw new EfuseError("ESP_ERR_EFUSE_REPEATED_PROG", `${name} byte ${i}: 0x${cur[i]!.toString(16)} → 0x${bytes[i]!.toString(16)} would clear burned bits (eFuses are one-way)`, {
                        field: name,
                    });
                }
            }
            this.values.set(name, Uint8Array.from(cur, (c, i) => c | bytes[i]!));
            return;
        }
        let v: bigint;
        if (typeof value === "boolean") v = value ? 1n : 0n;
        else if (typeof value === "number") {
            if (!Number.isSafeInteger(value) || value < 0) throw new EfuseError("ESP_ERR_INVALID_ARG", `${name}: ${value} is not a non-negative integer`, { field: name });
            v = BigInt(value);
        } else if (typeof value === "bigint") v = value;
        else if (typeof value === "string" && d.kind === "keypurpose" && value.toUpperCase() in KeyPurpose) v = BigInt(KeyPurpose[value.toUpperCase()]!);
        else throw new EfuseError("ESP_ERR_INVALID_ARG", `${name}: unsupported value ${String(value)}`, { field: name });
        if (v < 0n || v >= 1n << BigInt(d.bitLen)) {
            throw new EfuseError("ESP_ERR_INVALID_ARG", `${name}: value ${v} does not fit in ${d.bitLen} bit(s)`, { field: name });
        }
        const cur = this.values.get(name) as bigint;
        if ((cur & ~v) !== 0n) {
            throw new EfuseError("ESP_ERR_EFUSE_REPEATED_PROG", `${name}: 0x${cur.toString(16)} → 0x${v.toString(16)} would clear burned bits (eFuses are one-way)`, { field: name });
        }
        this.values.set(name, cur | v);
    }

    /** espefuse write_protect_efuse. */
    writeProtect(name: string): void {
        this.field(name);
        this.writeProtected.add(name);
    }

    /** espefuse read_protect_efuse (for key blocks). */
    readProtect(name: string): void {
        this.field(name);
        this.readProtected.add(name);
    }

    // ---- keys ----------------------------------------------------------------------------------------------

    /** BLOCK_KEYn names with their purpose, for chips with key blocks. */
    keyBlocks(): Array<{ index: number; block: string; purpose: string; purposeValue: number }> {
        if (this.chip.name === "esp32") return [];
        const out = [];
        for (let i = 0; i < 6; i++) {
            const pv = Number(this.getInt(`KEY_PURPOSE_${i}`));
            out.push({ index: i, block: `BLOCK_KEY${i}`, purpose: keyPurposeName(pv), purposeValue: pv });
        }
        return out;
    }

    /**
     * espefuse burn_key: writes `key` to BLOCK_KEYn (ESP32: BLOCK1 flash_encryption / BLOCK2 secure_boot_v2) and sets
     * the purpose. XTS (and ESP32 flash_encryption) keys are stored byte-reversed and read-protected by default.
     */
    burnKey(block: number | string, key: Uint8Array, purpose: string, options: { readProtect?: boolean } = {}): void {
        const p = purpose.toUpperCase();
        if (this.chip.name === "esp32") {
            const name = p === "FLASH_ENCRYPTION" ? "BLOCK1" : p === "SECURE_BOOT_V2" || p === "SECURE_BOOT_V1" ? "BLOCK2" : undefined;
            if (!name) throw new EfuseError("ESP_ERR_INVALID_ARG", `ESP32 key purpose must be flash_encryption, secure_boot_v1 or secure_boot_v2, got ${purpose}`);
            if (key.length !== 32) throw new EfuseError("ESP_ERR_INVALID_ARG", `${name} key must be 32 bytes, got ${key.length}`);
            this.assertEmptyBlock(name);
            const data = p === "SECURE_BOOT_V2" ? new Uint8Array(key) : new Uint8Array(key).reverse();
            this.burn(name, data);
            if (p !== "SECURE_BOOT_V2" && (options.readProtect ?? true)) this.readProtect(name);
            this.writeProtect(name);
            return;
        }
        const idx = typeof block === "number" ? block : Number(/^BLOCK_KEY([0-5])$/.exec(block)?.[1] ?? NaN);
        if (!Number.isInteger(idx) || idx < 0 || idx > 5) throw new EfuseError("ESP_ERR_INVALID_ARG", `key block must be BLOCK_KEY0..5, got ${block}`);
        const pv = KeyPurpose[p];
        if (pv === undefined || pv === 0 || pv === 1) {
            throw new EfuseError("ESP_ERR_INVALID_ARG", `key purpose ${purpose} is not one of ${KEY_PURPOSES.slice(2).map(([n]) => n).join(", ")}`);
        }
        if ((p === "XTS_AES_256_KEY_1" || p === "XTS_AES_256_KEY_2") && !this.chip.xtsKeyLengths.includes(64)) {
            throw new EfuseError("ESP_ERR_NOT_SUPPORTED", `${this.chip.title} has no XTS-AES-256 flash encryption`);
        }
        if (key.length !== 32) throw new EfuseError("ESP_ERR_INVALID_ARG", `key must be 32 bytes, got ${key.length}`);
        const name = `BLOCK_KEY${idx}`;
        if (this.getInt(`KEY_PURPOSE_${idx}`) !== 0n) {
            throw new EfuseError("ESP_ERR_EFUSE_REPEATED_PROG", `${name} already has purpose ${keyPurposeName(Number(this.getInt(`KEY_PURPOSE_${idx}`)))}`, { field: name });
        }
        this.assertEmptyBlock(name);
        const reverse = p.startsWith("XTS_AES");
        this.burn(name, reverse ? new Uint8Array(key).reverse() : new Uint8Array(key));
        this.burn(`KEY_PURPOSE_${idx}`, pv);
        if (reverse && (options.readProtect ?? true)) this.readProtect(name);
        this.writeProtect(name);
        this.writeProtect(`KEY_PURPOSE_${idx}`);
    }

    private assertEmptyBlock(name: string): void {
        const b = this.getBytes(name);
        if (b === undefined || b.some(x => x !== 0)) {
            throw new EfuseError("ESP_ERR_EFUSE_REPEATED_PROG", `${name} is not empty; a key block can be burned only once`, { field: name });
        }
    }

    /** Gives the emulator a read-protected key's bytes (block order) when a loaded summary shows "??". */
    provideProtectedBlock(name: string, blockBytes: Uint8Array): void {
        const d = this.field(name);
        if (d.kind !== "bytes" || blockBytes.length !== d.bitLen / 8) throw new EfuseError("ESP_ERR_INVALID_ARG", `${name} needs ${d.bitLen / 8} bytes`);
        this.values.set(name, new Uint8Array(blockBytes));
        this.unknown.delete(name);
    }

    // ---- derived state ------------------------------------------------------------------------------------

    /** SPI_BOOT_CRYPT_CNT / FLASH_CRYPT_CNT. */
    cryptCnt(): bigint {
        return this.getInt(this.chip.cryptCnt);
    }

    /** esp_flash_encryption_enabled(): an odd number of counter bits. */
    flashEncryptionEnabled(): boolean {
        return popcount(this.cryptCnt()) % 2 === 1;
    }

    /** esp_get_flash_encryption_mode(). */
    flashEncryptionMode(): FlashEncryptionMode {
        if (!this.flashEncryptionEnabled()) return "disabled";
        const bits = this.field(this.chip.cryptCnt).bitLen;
        const cntLocked = this.cryptCnt() === (1n << BigInt(bits)) - 1n || this.writeProtected.has(this.chip.cryptCnt);
        if (!cntLocked) return "development";
        const dlOff =
            this.chip.name === "esp32"
                ? this.getBool("DISABLE_DL_ENCRYPT") && this.getBool("DISABLE_DL_DECRYPT") && this.getBool("DISABLE_DL_CACHE")
                : this.getBool("DIS_DOWNLOAD_MANUAL_ENCRYPT");
        return dlOff ? "release" : "development";
    }

    /**
     * Turns flash encryption on like the bootloader does on first boot: burns the next counter bit (development),
     * or all bits plus the download-mode protections (release).
     */
    enableFlashEncryption(mode: "development" | "release" = "development"): void {
        if (mode === "release") {
            const bits = this.field(this.chip.cryptCnt).bitLen;
            this.burn(this.chip.cryptCnt, (1n << BigInt(bits)) - 1n);
            if (this.chip.name === "esp32") for (const n of ["DISABLE_DL_ENCRYPT", "DISABLE_DL_DECRYPT", "DISABLE_DL_CACHE"]) this.burn(n, true);
            else this.burn("DIS_DOWNLOAD_MANUAL_ENCRYPT", true);
            this.writeProtect(this.chip.cryptCnt);
            return;
        }
        if (this.flashEncryptionEnabled()) return;
        const cur = this.cryptCnt();
        const bits = this.field(this.chip.cryptCnt).bitLen;
        for (let i = 0; i < bits; i++) {
            const bit = 1n << BigInt(i);
            if (!(cur & bit)) return this.burn(this.chip.cryptCnt, cur | bit);
        }
        throw new EfuseError("ESP_ERR_EFUSE_CNT_IS_FULL", `${this.chip.cryptCnt} has no bit left to burn`, { field: this.chip.cryptCnt });
    }

    /**
     * The flash encryption key as the AES engine uses it (bytes as in an espsecure key file): XTS-AES-128 from an
     * XTS_AES_128_KEY block, XTS-AES-256 from KEY_1 ‖ KEY_2 blocks, ESP32 from BLOCK1 — each block byte-reversed.
     * Undefined when no key is burned; an EfuseError when the key is read-protected and unknown.
     */
    flashEncryptionKey(): { key: Uint8Array; scheme: "xts-aes-128" | "xts-aes-256" | "esp32-aes256"; flashCryptConfig?: number } | undefined {
        const read = (name: string): Uint8Array => {
            const b = this.getBytes(name);
            if (b === undefined) {
                throw new EfuseError("ESP_ERR_EFUSE", `${name} is read-protected; load the key with provideProtectedBlock() or a key file`, { field: name });
            }
            return b;
        };
        if (this.chip.name === "esp32") {
            if (!this.unknown.has("BLOCK1") && read("BLOCK1").every(x => x === 0)) return undefined;
            const block = read("BLOCK1");
            const scheme = Number(this.getInt("CODING_SCHEME"));
            let key: Uint8Array;
            if (scheme === 1) {
                const k24 = block.slice(0, 24).reverse();
                key = new Uint8Array(32);
                key.set(k24);
                key.set(k24.subarray(8, 16), 24);
            } else key = block.reverse();
            return { key, scheme: "esp32-aes256", flashCryptConfig: Number(this.getInt("FLASH_CRYPT_CONFIG")) };
        }
        const blocks = this.keyBlocks();
        const k128 = blocks.find(b => b.purpose === "XTS_AES_128_KEY");
        const k1 = blocks.find(b => b.purpose === "XTS_AES_256_KEY_1");
        const k2 = blocks.find(b => b.purpose === "XTS_AES_256_KEY_2");
        if (k1 && k2) {
            const key = new Uint8Array(64);
            key.set(read(k1.block).reverse(), 0);
            key.set(read(k2.block).reverse(), 32);
            return { key, scheme: "xts-aes-256" };
        }
        if (k128) return { key: read(k128.block).reverse(), scheme: "xts-aes-128" };
        return undefined;
    }

    /** Secure Boot V2 key digests that are not revoked (ESP32: BLOCK2 when ABS_DONE_1 or non-zero). */
    secureBootDigests(): SecureBootDigest[] {
        if (this.chip.name === "esp32") {
            const b = this.getBytes("BLOCK2");
            if (b === undefined || b.every(x => x === 0)) return [];
            return [{ index: 0, block: "BLOCK2", digest: b }];
        }
        const out: SecureBootDigest[] = [];
        for (const kb of this.keyBlocks()) {
            const m = /^SECURE_BOOT_DIGEST([0-2])$/.exec(kb.purpose);
            if (!m) continue;
            const i = Number(m[1]);
            if (this.getBool(`SECURE_BOOT_KEY_REVOKE${i}`)) continue;
            const digest = this.getBytes(kb.block);
            if (digest) out.push({ index: i, block: kb.block, digest });
        }
        return out.sort((a, b) => a.index - b.index);
    }

    /** Secure boot (v2) enabled: SECURE_BOOT_EN (ESP32: ABS_DONE_1). */
    secureBootEnabled(): boolean {
        return this.chip.name === "esp32" ? this.getBool("ABS_DONE_1") : this.getBool("SECURE_BOOT_EN");
    }

    /** esp_efuse_read_secure_version(): popcount of the thermometer-coded SECURE_VERSION. */
    secureVersion(): number {
        return popcount(this.getInt("SECURE_VERSION"));
    }

    /** esp_efuse_update_secure_version(): raise to `version` (never lowers). */
    updateSecureVersion(version: number): void {
        const bits = this.field("SECURE_VERSION").bitLen;
        if (!Number.isInteger(version) || version < 0 || version > bits) {
            throw new EfuseError("ESP_ERR_INVALID_ARG", `secure_version ${version} does not fit the ${bits}-bit SECURE_VERSION field`, { field: "SECURE_VERSION" });
        }
        if (version <= this.secureVersion()) return;
        this.burn("SECURE_VERSION", this.getInt("SECURE_VERSION") | ((1n << BigInt(version)) - 1n));
    }

    /** SECURE_BOOT_KEY_REVOKEn. */
    revokeSecureBootKey(index: number): void {
        if (this.chip.name === "esp32") throw new EfuseError("ESP_ERR_NOT_SUPPORTED", "ESP32 has a single secure boot digest (BLOCK2); nothing to revoke");
        if (!Number.isInteger(index) || index < 0 || index > 2) throw new EfuseError("ESP_ERR_INVALID_ARG", `secure boot key index must be 0..2, got ${index}`);
        this.burn(`SECURE_BOOT_KEY_REVOKE${index}`, true);
    }

    // ---- espefuse summary JSON ---------------------------------------------------------------------------

    /** `espefuse summary --format json`; read-protected blocks show "??" unless `includeProtected` adds `raw`. */
    toSummaryJson(options: { includeProtected?: boolean } = {}): EfuseSummary {
        const out: EfuseSummary = {};
        for (const d of this.chip.fields) {
            const readable = !this.readProtected.has(d.name);
            let value: boolean | number | string;
            const v = this.values.get(d.name)!;
            let raw: string | undefined;
            if (d.kind === "bytes") {
                const known = !this.unknown.has(d.name);
                value = readable && known ? hexBytes(v as Uint8Array) : Array(d.bitLen / 8).fill("??").join(" ");
                if (!readable && known && options.includeProtected) raw = hexBytes(v as Uint8Array);
            } else if (d.kind === "bool") value = (v as bigint) !== 0n;
            else if (d.kind === "keypurpose") value = keyPurposeName(Number(v));
            else value = Number(v);
            out[d.name] = {
                name: d.name,
                value,
                readable,
                writeable: !this.writeProtected.has(d.name),
                description: d.description,
                category: d.category,
                block: d.block,
                word: d.word,
                pos: d.pos,
                efuse_type: efuseTypeString(d),
                bit_len: d.bitLen,
                ...(raw !== undefined ? { raw } : {}),
            };
        }
        for (const [k, e] of this.extra) if (!(k in out)) out[k] = e;
        return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }

    /**
     * Loads an `espefuse summary --format json` document (text or parsed). The chip is ESP32 when FLASH_CRYPT_CNT is
     * present, else `chip` (default esp32c3). Fields we model are checked; others are kept and written back.
     */
    static fromSummaryJson(input: string | unknown, chip?: ChipName): Efuses {
        let doc: unknown = input;
        if (typeof input === "string") {
            try {
                doc = JSON.parse(input);
            } catch {
                const a = input.indexOf("{");
                const b = input.lastIndexOf("}");
                try {
                    if (a < 0 || b <= a) throw new Error("no object");
                    doc = JSON.parse(input.slice(a, b + 1));
                } catch (e) {
                    throw new EfuseError("EFUSE_JSON_INVALID", `not JSON: ${(e as Error).message}`);
                }
            }
        }
        if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
            throw new EfuseError("EFUSE_JSON_INVALID", "an espefuse summary is a JSON object keyed by eFuse name");
        }
        const obj = doc as Record<string, unknown>;
        const detected: ChipName = "FLASH_CRYPT_CNT" in obj ? "esp32" : (chip ?? "esp32c3");
        if (chip !== undefined && chip !== detected) {
            throw new EfuseError("EFUSE_JSON_INVALID", `summary is from an ${CHIP_DEFS[detected].title} (FLASH_CRYPT_CNT present: ${"FLASH_CRYPT_CNT" in obj}), not ${CHIP_DEFS[chip].title}`);
        }
        const ef = new Efuses(detected);
        for (const [name, rawEntry] of Object.entries(obj)) {
            if (typeof rawEntry !== "object" || rawEntry === null || Array.isArray(rawEntry)) {
                throw new EfuseError("EFUSE_JSON_INVALID", `${name}: entry must be an object with "value"`, { field: name });
            }
            const entry = rawEntry as Record<string, unknown>;
            if (!("value" in entry)) throw new EfuseError("EFUSE_JSON_INVALID", `${name}: missing "value"`, { field: name });
            const readable = entry.readable === undefined ? true : entry.readable;
            const writeable = entry.writeable === undefined ? true : entry.writeable;
            if (typeof readable !== "boolean" || typeof writeable !== "boolean") {
                throw new EfuseError("EFUSE_JSON_INVALID", `${name}: "readable"/"writeable" must be booleans`, { field: name });
            }
            if (!ef.has(name)) {
                ef.extra.set(name, entry as unknown as SummaryEntry);
                continue;
            }
            const d = ef.field(name);
            ef.values.set(name, parseValue(d, entry.value, entry.raw, readable, ef, obj));
            if (!readable) ef.readProtected.add(name);
            if (!writeable) ef.writeProtected.add(name);
        }
        return ef;
    }
}

function parseHexBytes(s: string, name: string): Uint8Array {
    const t = s.trim();
    const parts = t.length === 0 ? [] : t.split(/\s+/);
    if (parts.length === 1 && /^([0-9a-fA-F]{2})+$/.test(parts[0]!)) return Uint8Array.from(Buffer.from(parts[0]!, "hex"));
    const out = new Uint8Array(parts.length);
    parts.forEach((p, i) => {
        if (!/^[0-9a-fA-F]{2}$/.test(p)) throw new EfuseError("EFUSE_JSON_INVALID", `${name}: '${p}' is not a hex byte`, { field: name });
        out[i] = parseInt(p, 16);
    });
    return out;
}

const UNKNOWN = Symbol("unknown");

function parseValue(d: EfuseFieldDef, value: unknown, raw: unknown, readable: boolean, ef: Efuses, doc: Record<string, unknown>): Value {
    const bad = (why: string): never => {
        throw new EfuseError("EFUSE_JSON_INVALID", `${d.name}: ${why} (efuse_type ${efuseTypeString(d)})`, { field: d.name });
    };
    if (d.kind === "bytes") {
        const src = typeof raw === "string" ? raw : value;
        if (typeof src !== "string") return bad("value must be a string of hex bytes");
        if (/\?/.test(src)) {
            if (readable) return bad("'??' but readable");
            (ef as unknown as { unknown: Set<string> }).unknown.add(d.name);
            void UNKNOWN;
            return new Uint8Array(d.bitLen / 8);
        }
        const b = parseHexBytes(src, d.name);
        if (b.length !== d.bitLen / 8) return bad(`${b.length} bytes, expected ${d.bitLen / 8}`);
        return b;
    }
    let v: bigint;
    if (typeof value === "boolean") v = value ? 1n : 0n;
    else if (typeof value === "number") {
        if (!Number.isSafeInteger(value) || value < 0) return bad(`${value} is not a non-negative integer`);
        v = BigInt(value);
    } else if (typeof value === "string") {
        const s = value.trim();
        if (/^(true|false)$/i.test(s)) v = /^true$/i.test(s) ? 1n : 0n;
        else if (/^0x[0-9a-f]+$/i.test(s) || /^[0-9]+$/.test(s)) v = BigInt(s);
        else if (/^0b[01]+$/i.test(s)) v = BigInt(s);
        else if (d.kind === "keypurpose" && s.toUpperCase() in KeyPurpose) v = BigInt(KeyPurpose[s.toUpperCase()]!);
        else if (/^(enable|enabled)$/i.test(s) && /CRYPT_CNT$/.test(d.name)) {
            // espefuse prints the counter's meaning, not its bits: 1 bit (development) unless release protections are set.
            const release = doc["DIS_DOWNLOAD_MANUAL_ENCRYPT"] as { value?: unknown } | undefined;
            v = release && (release.value === true || release.value === "True") ? (1n << BigInt(d.bitLen)) - 1n : 1n;
        } else if (/^(disable|disabled)$/i.test(s) && /CRYPT_CNT$/.test(d.name)) v = 0n;
        else if (/\?/.test(s) && !readable) v = 0n;
        else return bad(`cannot read value '${s}'`);
    } else return bad("value must be a boolean, number or string");
    if (v >= 1n << BigInt(d.bitLen)) return bad(`value ${v} does not fit in ${d.bitLen} bit(s)`);
    return v;
}
