/**
 * The esp_secure_cert partition in TLV format (espressif/esp_secure_cert_mgr: private_include/
 * esp_secure_cert_tlv_private.h, srcs/esp_secure_cert_tlv_read.c, tools/esp_secure_cert/tlv_format*.py), as
 * esp-matter-mfg-tool writes it with --dac-in-secure-cert (partition type 0x3F, name esp_secure_cert, 0x2000).
 *
 * Consecutive entries, each:
 *   header (12 B) { u32 LE magic 0xBA5EBA11, u8 flags, u8 reserved[3] = 0, u8 type, u8 subtype, u16 LE length }
 *   value (length B), zero padding to a multiple of 16, u32 LE CRC
 * CRC = esp_crc32_le(UINT32_MAX, header + value + padding) = Python zlib.crc32(d, 0xffffffff) = espCrc32().
 * The rest of the partition is 0xFF (the legacy tool writes the full 0x2000; the newer construct-based tool
 * writes an integrity TLV and a u32 0x0000FFFF end marker and stops there). The device walks entries until a
 * word that is not the magic, and checks only the CRC of the entry it returns (esp_secure_cert_find_tlv).
 */
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { espCrc32 } from "../esp_rom/crc.js";

export const SECURE_CERT_MAGIC = 0xba5eba11;
export const SECURE_CERT_PARTITION_SIZE = 0x2000;
export const SECURE_CERT_PARTITION_TYPE = 0x3f;
export const SECURE_CERT_HEADER_SIZE = 12;
const ALIGN = 16;

/** esp_secure_cert_tlv_type_t. */
export const SecureCertType = {
    CA_CERT: 0, // Matter: PAI certificate
    DEV_CERT: 1, // Matter: DAC
    PRIV_KEY: 2, // Matter: DAC private key
    DS_DATA: 3,
    DS_CONTEXT: 4,
    HMAC_ECDSA_KEY_SALT: 5,
    SEC_CFG: 6,
    TEE_SEC_STORAGE_KEY: 7,
    SIGNATURE_BLOCK: 8,
    INTEGRITY: 9,
    USER_DATA_1: 51,
    USER_DATA_2: 52,
    USER_DATA_3: 53,
    USER_DATA_4: 54,
    USER_DATA_5: 55,
    MATTER_TLV_1: 201,
    MATTER_TLV_2: 202,
} as const;

/** Subtypes of MATTER_TLV_1 (esp-matter mfg_tool secure_cert_utils MatterTLVSubType). */
export const MatterSubtype = {
    DISCRIMINATOR: 0,
    SPAKE2P_VERIFIER: 1,
    SPAKE2P_SALT: 2,
    SPAKE2P_ITERATION_COUNT: 3,
    RD_ID_UID: 4,
    RANDOM1: 128,
    RANDOM2: 129,
} as const;

/** Private-key TLV flags (esp_secure_cert_tlv_private.h). */
export const SecureCertFlags = {
    HMAC_ENCRYPTION: 2 << 6,
    HMAC_ECDSA_KEY_DERIVATION: 1 << 6,
    KEY_ECDSA_PERIPHERAL: 1 << 3,
} as const;

export type DacKeyKind = "plaintext" | "hmac-encrypted" | "hmac-derived" | "ecdsa-peripheral";

export interface SecureCertEntryInput {
    type: number;
    subtype?: number;
    flags?: number;
    value: Uint8Array;
}

export interface SecureCertEntry {
    type: number;
    subtype: number;
    flags: number;
    value: Uint8Array;
    /** Offset of the header in the partition. */
    offset: number;
    crc: number;
    crcOk: boolean;
}

export interface SecureCertScan {
    entries: SecureCertEntry[];
    /** Offset where the walk stopped. */
    end: number;
    /** Why: erased flash (0xFFFFFFFF), the newer tool's 0x0000FFFF end marker, another word, the end of the data, or an entry running past it. */
    endReason: "erased" | "end-marker" | "not-magic" | "eof" | "truncated";
}

function totalLength(len: number): number {
    return SECURE_CERT_HEADER_SIZE + len + ((ALIGN - (len % ALIGN)) % ALIGN) + 4;
}

/** One entry's bytes: header, value, zero padding, CRC. */
export function encodeSecureCertEntry(e: SecureCertEntryInput): Uint8Array {
    const subtype = e.subtype ?? 0;
    const flags = e.flags ?? 0;
    for (const [name, v] of [["type", e.type], ["subtype", subtype], ["flags", flags]] as const) {
        if (!Number.isInteger(v) || v < 0 || v > 0xff) {
            throw new EspError("ESP_ERR_INVALID_ARG", `esp_secure_cert TLV ${name} must be 0..255, got ${v}`, { field: name });
        }
    }
    if (e.value.length > 0xffff) {
        throw new EspError("ESP_ERR_INVALID_SIZE", `esp_secure_cert TLV value is ${e.value.length} bytes, the length field holds at most 65535`, { field: "length" });
    }
    const out = new Uint8Array(totalLength(e.value.length));
    const view = new DataView(out.buffer);
    view.setUint32(0, SECURE_CERT_MAGIC, true);
    out[4] = flags;
    out[8] = e.type;
    out[9] = subtype;
    view.setUint16(10, e.value.length, true);
    out.set(e.value, SECURE_CERT_HEADER_SIZE);
    const crcLen = out.length - 4;
    view.setUint32(crcLen, espCrc32(out.subarray(0, crcLen)), true);
    return out;
}

/**
 * Builds the partition: entries in the given order from offset 0, the rest 0xFF (as the legacy
 * configure_esp_secure_cert.py / esp-matter-mfg-tool output). Throws EspError(ESP_ERR_INVALID_SIZE) when they
 * do not fit, and refuses a duplicate (type, subtype): the reader would only ever return the first.
 */
export function encodeSecureCert(entries: readonly SecureCertEntryInput[], size = SECURE_CERT_PARTITION_SIZE): Uint8Array {
    const out = new Uint8Array(size).fill(0xff);
    const seen = new Set<number>();
    let p = 0;
    for (const e of entries) {
        const key = (e.type << 8) | (e.subtype ?? 0);
        if (seen.has(key)) {
            throw new EspError("ESP_ERR_INVALID_ARG", `duplicate esp_secure_cert TLV type ${e.type} subtype ${e.subtype ?? 0}: the device would only read the first`, { field: "type" });
        }
        seen.add(key);
        const tlv = encodeSecureCertEntry(e);
        if (p + tlv.length > size) {
            throw new EspError("ESP_ERR_INVALID_SIZE", `esp_secure_cert entries need ${p + tlv.length} bytes, partition is 0x${size.toString(16)}`, { offset: p });
        }
        out.set(tlv, p);
        p += tlv.length;
    }
    return out;
}

/**
 * Walks the entries as esp_secure_cert_find_tlv does (until a word that is not the magic), checking every CRC.
 * Never throws on data: an entry running past the end stops the walk with endReason "truncated".
 */
export function scanSecureCert(bytes: Uint8Array): SecureCertScan {
    const entries: SecureCertEntry[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let p = 0;
    for (;;) {
        if (p + 4 > bytes.length) return { entries, end: p, endReason: "eof" };
        const magic = view.getUint32(p, true);
        if (magic !== SECURE_CERT_MAGIC) {
            const endReason = magic === 0xffffffff ? "erased" : magic === 0x0000ffff ? "end-marker" : "not-magic";
            return { entries, end: p, endReason };
        }
        if (p + SECURE_CERT_HEADER_SIZE > bytes.length) return { entries, end: p, endReason: "truncated" };
        const length = view.getUint16(p + 10, true);
        const total = totalLength(length);
        if (p + total > bytes.length) return { entries, end: p, endReason: "truncated" };
        const crcLen = total - 4;
        const crc = view.getUint32(p + crcLen, true);
        entries.push({
            type: bytes[p + 8]!,
            subtype: bytes[p + 9]!,
            flags: bytes[p + 4]!,
            value: bytes.slice(p + SECURE_CERT_HEADER_SIZE, p + SECURE_CERT_HEADER_SIZE + length),
            offset: p,
            crc,
            crcOk: espCrc32(bytes.subarray(p, p + crcLen)) === crc,
        });
        p += total;
    }
}

/**
 * Strict decode: every entry's CRC must match and no entry may run past the end; returns the entries.
 * Throws EspError(ESP_ERR_INVALID_CRC / ESP_ERR_INVALID_SIZE) with the entry's offset, or
 * DiagnosticError(ESP_SECURE_CERT_BAD_MAGIC) when offset 0 holds neither an entry nor erased flash.
 */
export function decodeSecureCert(bytes: Uint8Array): SecureCertEntry[] {
    const scan = scanSecureCert(bytes);
    const bad = scan.entries.find(e => !e.crcOk);
    if (bad) throw crcError(bad);
    if (scan.endReason === "truncated") {
        throw new EspError("ESP_ERR_INVALID_SIZE", `esp_secure_cert TLV at 0x${scan.end.toString(16)} runs past the end of the ${bytes.length}-byte partition`, { offset: scan.end });
    }
    if (scan.entries.length === 0 && scan.endReason === "not-magic") throw badMagic(bytes);
    return scan.entries;
}

function crcError(e: SecureCertEntry): EspError {
    return new EspError("ESP_ERR_INVALID_CRC", `esp_secure_cert TLV type ${e.type} subtype ${e.subtype}: CRC 0x${e.crc.toString(16).padStart(8, "0")} does not match its contents`, { offset: e.offset });
}

function badMagic(bytes: Uint8Array): DiagnosticError {
    const word = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
    return new DiagnosticError(
        "ESP_SECURE_CERT_BAD_MAGIC",
        `no esp_secure_cert TLV at offset 0 (word 0x${word.toString(16).padStart(8, "0")}, expected magic 0xba5eba11): wrong offset, legacy cust_flash format, or still flash-encrypted`,
        { offset: 0 },
    );
}

/**
 * esp_secure_cert_find_tlv: the first entry with this type and subtype, its CRC checked. Absent →
 * EspError(ESP_ERR_NOT_FOUND); bad CRC → EspError(ESP_ERR_INVALID_CRC); garbage at offset 0 → ESP_SECURE_CERT_BAD_MAGIC.
 */
export function findSecureCertEntry(bytes: Uint8Array, type: number, subtype = 0): SecureCertEntry {
    const scan = scanSecureCert(bytes);
    const e = scan.entries.find(x => x.type === type && x.subtype === subtype);
    if (e === undefined) {
        if (scan.entries.length === 0 && scan.endReason === "not-magic") throw badMagic(bytes);
        throw new EspError("ESP_ERR_NOT_FOUND", `esp_secure_cert has no TLV type ${type} subtype ${subtype} (${scan.entries.length} entries, ${scan.endReason} at 0x${scan.end.toString(16)})`);
    }
    if (!e.crcOk) throw crcError(e);
    return e;
}

/** esp_secure_cert_get_device_cert: the DAC (DER as esp-matter writes it; a PEM one keeps its trailing NUL). */
export function getDacCert(bytes: Uint8Array): Uint8Array {
    return findSecureCertEntry(bytes, SecureCertType.DEV_CERT).value;
}

/** esp_secure_cert_get_ca_cert: for Matter, the PAI certificate. */
export function getPaiCert(bytes: Uint8Array): Uint8Array {
    return findSecureCertEntry(bytes, SecureCertType.CA_CERT).value;
}

export interface DacKey {
    kind: DacKeyKind;
    flags: number;
    /** The DER key for "plaintext"; empty for ecdsa-peripheral (the key is in an eFuse block). */
    der: Uint8Array;
}

export function dacKeyKind(flags: number): DacKeyKind {
    const hmac = flags & 0xc0;
    if (hmac === SecureCertFlags.HMAC_ENCRYPTION) return "hmac-encrypted";
    if (hmac === SecureCertFlags.HMAC_ECDSA_KEY_DERIVATION) return "hmac-derived";
    if ((flags & 0x38) === SecureCertFlags.KEY_ECDSA_PERIPHERAL) return "ecdsa-peripheral";
    return "plaintext";
}

/** esp_secure_cert_get_priv_key: the DAC private key entry and how the device would use it (flags). */
export function getDacKey(bytes: Uint8Array): DacKey {
    const e = findSecureCertEntry(bytes, SecureCertType.PRIV_KEY);
    return { kind: dacKeyKind(e.flags), flags: e.flags, der: e.value };
}

function fixedSize(e: SecureCertEntry, size: number, what: string): Uint8Array {
    if (e.value.length !== size) {
        throw new EspError("ESP_ERR_INVALID_SIZE", `esp_secure_cert ${what} is ${e.value.length} bytes, expected ${size}`, { offset: e.offset, field: what });
    }
    return e.value;
}

/** The Matter commissionable data in MATTER_TLV_1 (ESP32SecureCertDataProvider), typed by subtype. */
export function getMatterData(bytes: Uint8Array, subtype: typeof MatterSubtype.DISCRIMINATOR | typeof MatterSubtype.SPAKE2P_ITERATION_COUNT): number;
export function getMatterData(bytes: Uint8Array, subtype: number): Uint8Array;
export function getMatterData(bytes: Uint8Array, subtype: number): number | Uint8Array {
    const e = findSecureCertEntry(bytes, SecureCertType.MATTER_TLV_1, subtype);
    const view = (v: Uint8Array) => new DataView(v.buffer, v.byteOffset, v.byteLength);
    switch (subtype) {
        case MatterSubtype.DISCRIMINATOR:
            return view(fixedSize(e, 2, "discriminator")).getUint16(0, true);
        case MatterSubtype.SPAKE2P_ITERATION_COUNT:
            return view(fixedSize(e, 4, "iteration-count")).getUint32(0, true);
        case MatterSubtype.SPAKE2P_VERIFIER:
            return fixedSize(e, 97, "verifier");
        case MatterSubtype.RD_ID_UID:
            return fixedSize(e, 16, "rd-id-uid");
        default:
            return e.value;
    }
}

export interface MatterSecureCertInput {
    dacCert: Uint8Array;
    dacKey: Uint8Array;
    paiCert: Uint8Array;
    /** Default "plaintext"; "ecdsa-peripheral" for a DAC key in an eFuse block (value then usually empty). */
    keyKind?: DacKeyKind;
    discriminator?: number;
    verifier?: Uint8Array;
    salt?: Uint8Array;
    iterationCount?: number;
    rdIdUid?: Uint8Array;
    /** esp-matter adds two 32-byte random entries (subtypes 128, 129) with the commissionable data. */
    randomEntries?: [Uint8Array, Uint8Array];
}

const KEY_FLAGS: Record<DacKeyKind, number> = {
    plaintext: 0,
    "hmac-encrypted": SecureCertFlags.HMAC_ENCRYPTION,
    "hmac-derived": SecureCertFlags.HMAC_ECDSA_KEY_DERIVATION,
    "ecdsa-peripheral": SecureCertFlags.KEY_ECDSA_PERIPHERAL,
};

/** The entries esp-matter-mfg-tool writes (mfg_tool secure_cert_utils.py order: DAC, PAI, key, then Matter data). */
export function matterSecureCertEntries(m: MatterSecureCertInput): SecureCertEntryInput[] {
    const entries: SecureCertEntryInput[] = [
        { type: SecureCertType.DEV_CERT, value: m.dacCert },
        { type: SecureCertType.CA_CERT, value: m.paiCert },
        { type: SecureCertType.PRIV_KEY, flags: KEY_FLAGS[m.keyKind ?? "plaintext"], value: m.dacKey },
    ];
    const M = SecureCertType.MATTER_TLV_1;
    if (m.discriminator !== undefined) {
        if (!Number.isInteger(m.discriminator) || m.discriminator < 0 || m.discriminator > 0xfff) {
            throw new EspError("ESP_ERR_INVALID_ARG", `discriminator must be 0..4095, got ${m.discriminator}`, { field: "discriminator" });
        }
        const v = new Uint8Array(2);
        new DataView(v.buffer).setUint16(0, m.discriminator, true);
        entries.push({ type: M, subtype: MatterSubtype.DISCRIMINATOR, value: v });
    }
    if (m.verifier !== undefined) {
        if (m.verifier.length !== 97) throw new EspError("ESP_ERR_INVALID_SIZE", `SPAKE2+ verifier must be 97 bytes, got ${m.verifier.length}`, { field: "verifier" });
        entries.push({ type: M, subtype: MatterSubtype.SPAKE2P_VERIFIER, value: m.verifier });
    }
    if (m.salt !== undefined) {
        if (m.salt.length < 16 || m.salt.length > 32) throw new EspError("ESP_ERR_INVALID_SIZE", `SPAKE2+ salt must be 16..32 bytes, got ${m.salt.length}`, { field: "salt" });
        entries.push({ type: M, subtype: MatterSubtype.SPAKE2P_SALT, value: m.salt });
    }
    if (m.iterationCount !== undefined) {
        if (!Number.isInteger(m.iterationCount) || m.iterationCount < 1000 || m.iterationCount > 100000) {
            throw new EspError("ESP_ERR_INVALID_ARG", `SPAKE2+ iteration count must be 1000..100000, got ${m.iterationCount}`, { field: "iteration-count" });
        }
        const v = new Uint8Array(4);
        new DataView(v.buffer).setUint32(0, m.iterationCount, true);
        entries.push({ type: M, subtype: MatterSubtype.SPAKE2P_ITERATION_COUNT, value: v });
    }
    if (m.rdIdUid !== undefined) {
        if (m.rdIdUid.length !== 16) throw new EspError("ESP_ERR_INVALID_SIZE", `rotating device id unique id must be 16 bytes, got ${m.rdIdUid.length}`, { field: "rd-id-uid" });
        entries.push({ type: M, subtype: MatterSubtype.RD_ID_UID, value: m.rdIdUid });
    }
    if (m.randomEntries) {
        entries.push({ type: M, subtype: MatterSubtype.RANDOM1, value: m.randomEntries[0] });
        entries.push({ type: M, subtype: MatterSubtype.RANDOM2, value: m.randomEntries[1] });
    }
    return entries;
}
