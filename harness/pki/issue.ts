/**
 * Issues Matter attestation certificates (PAA, PAI, DAC) following the Matter certificate profile
 * (core spec §6.2.2): v3, P-256, ecdsa-with-SHA256, critical basicConstraints and keyUsage, 20-byte SKID/AKID,
 * VID/PID as 4 upper-case hex digits under 1.3.6.1.4.1.37244.2.1/.2.2, and validity up to the
 * 99991231235959Z "no well-defined expiration" GeneralizedTime.
 *
 * The TBSCertificate is built directly with the small DER writer and signed synchronously with Node's crypto,
 * so a worker can issue thousands of DACs per second. `overrides` bend single fields on purpose (tests of the
 * verifier's profile checks).
 */
import { hash } from "node:crypto";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { TAG, bitString, boolean, concat, explicit, integer, octets, oid, seq, set, time, tlv, utf8 } from "./der.js";
import { type P256Key, SeededRng, generateKey, pem, signDer, spkiFromPoint } from "./keys.js";
import { osRandomBytes } from "./random.js";
import { type Certificate, KU, OID, parseCertificate, skidOf } from "./x509.js";

export type CertKind = "PAA" | "PAI" | "DAC";

/** 9999-12-31 23:59:59 UTC: "no well-defined expiration date" (RFC 5280 §4.1.2.5). */
export const NO_EXPIRY = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

export interface ProfileOverrides {
    version?: 1 | 2 | 3;
    signatureAlgorithm?: string;
    /** null: omit the extension. */
    basicConstraints?: { ca?: boolean; pathLen?: number; critical?: boolean } | null;
    keyUsage?: { mask: number; critical?: boolean } | null;
    skid?: Uint8Array | null;
    akid?: Uint8Array | null;
    /** Extra raw extensions appended after the standard ones: [oid, critical, DER value]. */
    extraExtensions?: Array<[string, boolean, Uint8Array]>;
    /** Full subject attributes instead of CN/VID/PID: [oid, value]. */
    subject?: Array<[string, string]>;
}

export interface IssueOptions {
    kind: CertKind;
    /** Key of the new certificate; fresh (or from `rng`) when absent. */
    key?: P256Key;
    /** Issuer certificate and key (PAI: the PAA; DAC: the PAI). Absent for a self-signed PAA. */
    issuer?: { cert: Certificate; key: P256Key };
    vid?: number;
    pid?: number;
    commonName?: string;
    /** Put VID/PID into the CN as `Mvid:XXXX Mpid:XXXX` instead of the Matter OIDs. */
    cnFallback?: boolean;
    notBefore?: Date;
    /** Default NO_EXPIRY for PAA/PAI, +100 years capped at NO_EXPIRY for DAC (like chip-cert's test DACs). */
    notAfter?: Date;
    /** Serial (positive). Default: 8 random bytes (from `rng` when given). */
    serial?: bigint;
    /** PAA pathLen: undefined (absent) or 1. PAI is always 0. */
    pathLen?: number;
    /** Deterministic key/serial/signature for reproducible batches. */
    rng?: SeededRng;
    overrides?: ProfileOverrides;
}

export interface IssuedCertificate {
    der: Uint8Array;
    pem: string;
    key: P256Key;
    cert: Certificate;
    /** The subjectKeyIdentifier written into the certificate (null when omitted by an override). */
    skid: Uint8Array | null;
}

const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, "0");

function checkId(n: number | undefined, what: string): void {
    if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 0xffff)) {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `${what} must be 0..0xFFFF, got ${n}`, { field: what });
    }
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: Uint8Array): Uint8Array {
    // one-shot crypto.hash (Node ≥ 20.12): no Hash object per DAC for the GC to finalize
    return new Uint8Array(hash("sha1", publicKey, "buffer"));
}

function nameDer(attrs: Array<[string, string]>): Uint8Array {
    return seq(...attrs.map(([o, v]) => set(seq(oid(o), utf8(v)))));
}

function subjectAttrs(o: IssueOptions): Array<[string, string]> {
    if (o.overrides?.subject) return o.overrides.subject;
    const cn = o.commonName ?? `mfgsim ${o.kind}`;
    if (o.cnFallback) {
        const parts = [cn];
        if (o.vid !== undefined) parts.push(`Mvid:${hex4(o.vid)}`);
        if (o.pid !== undefined) parts.push(`Mpid:${hex4(o.pid)}`);
        return [[OID.commonName, parts.join(" ")]];
    }
    const out: Array<[string, string]> = [[OID.commonName, cn]];
    if (o.vid !== undefined) out.push([OID.matterVid, hex4(o.vid)]);
    if (o.pid !== undefined) out.push([OID.matterPid, hex4(o.pid)]);
    return out;
}

function ext(o: string, critical: boolean, value: Uint8Array): Uint8Array {
    return critical ? seq(oid(o), boolean(true), octets(value)) : seq(oid(o), octets(value));
}

function keyUsageBits(mask: number): Uint8Array {
    let bytes = [mask & 0xff, (mask >> 8) & 0xff];
    // bit i of the mask is named bit i: MSB-first in the BIT STRING
    const b = [0, 0];
    for (let i = 0; i < 16; i++) if (mask & (1 << i)) b[i >> 3]! |= 0x80 >> (i & 7);
    bytes = b[1] ? b : [b[0]!];
    const last = bytes[bytes.length - 1]!;
    let unused = 0;
    if (last) while (!((last >> unused) & 1)) unused++;
    else unused = 0;
    return bitString(Uint8Array.from(bytes), unused);
}

const skidCache = new WeakMap<object, Uint8Array>();
function issuerSkid(issuer: { cert: Certificate; key: P256Key }): Uint8Array {
    let s = skidCache.get(issuer);
    if (!s) {
        s = skidOf(issuer.cert) ?? keyIdentifier(issuer.key.publicKey);
        skidCache.set(issuer, s);
    }
    return s;
}

/** Issues one certificate. */
export function issueCertificate(o: IssueOptions): IssuedCertificate {
    checkId(o.vid, "vid");
    checkId(o.pid, "pid");
    if (o.kind === "DAC" && (o.vid === undefined || o.pid === undefined) && !o.overrides?.subject) {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "a DAC needs both a VID and a PID", { field: "vid" });
    }
    if (o.kind === "PAA" && o.pid !== undefined) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "a PAA must not carry a PID", { field: "pid" });
    if (o.kind === "PAI" && o.vid === undefined && !o.overrides?.subject) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "a PAI needs a VID", { field: "vid" });
    if (o.kind !== "PAA" && !o.issuer) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `a ${o.kind} needs an issuer certificate and key`, { field: "issuer" });
    if (o.kind === "PAA" && o.pathLen !== undefined && o.pathLen !== 1) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "PAA pathLen must be absent or 1", { field: "pathLen" });

    const key = o.key ?? (o.rng ? o.rng.key() : generateKey());
    if (o.kind === "DAC" && o.overrides === undefined && o.issuer && !o.cnFallback && o.notBefore && o.notAfter) {
        return issueDacFromTemplate(o, key, o.issuer, o.notBefore, o.notAfter);
    }
    const ov = o.overrides ?? {};
    const subject = nameDer(subjectAttrs(o));
    const issuerName = o.issuer ? o.issuer.cert.subjectDer : subject;
    const signer = o.issuer?.key ?? key;
    const skid = ov.skid === undefined ? keyIdentifier(key.publicKey) : ov.skid;
    const akid = ov.akid === undefined ? (o.issuer ? issuerSkid(o.issuer) : skid) : ov.akid;

    let serial = o.serial;
    if (serial === undefined) {
        const b = o.rng ? o.rng.bytes(8) : osRandomBytes(8);
        b[0]! &= 0x7f;
        if (b[0] === 0) b[0] = 1;
        serial = BigInt("0x" + Buffer.from(b).toString("hex"));
    }
    if (serial <= 0n) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "serial must be positive", { field: "serial" });

    const notBefore = o.notBefore ?? new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const notAfter = o.notAfter ?? NO_EXPIRY;
    if (notAfter.getTime() < notBefore.getTime()) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "notAfter is before notBefore", { field: "notAfter" });

    const exts: Uint8Array[] = [];
    const bcDefault = o.kind === "DAC" ? { ca: false, pathLen: undefined } : o.kind === "PAI" ? { ca: true, pathLen: 0 } : { ca: true, pathLen: o.pathLen };
    if (ov.basicConstraints !== null) {
        const bc = { ...bcDefault, critical: true, ...(ov.basicConstraints ?? {}) };
        const body: Uint8Array[] = [];
        if (bc.ca) body.push(boolean(true));
        if (bc.pathLen !== undefined) body.push(integer(bc.pathLen));
        exts.push(ext(OID.basicConstraints, bc.critical, seq(...body)));
    }
    if (ov.keyUsage !== null) {
        const mask = ov.keyUsage?.mask ?? (o.kind === "DAC" ? KU.digitalSignature : KU.keyCertSign | KU.cRLSign);
        exts.push(ext(OID.keyUsage, ov.keyUsage?.critical ?? true, keyUsageBits(mask)));
    }
    if (skid !== null) exts.push(ext(OID.subjectKeyIdentifier, false, octets(skid)));
    if (akid !== null) exts.push(ext(OID.authorityKeyIdentifier, false, seq(tlv(0x80, akid))));
    for (const [o2, c, v] of ov.extraExtensions ?? []) exts.push(ext(o2, c, v));

    const version = ov.version ?? 3;
    const sigAlg = seq(oid(ov.signatureAlgorithm ?? OID.ecdsaWithSHA256));
    const tbs = seq(
        version === 1 ? new Uint8Array(0) : explicit(0, integer(version - 1)),
        integer(serial),
        sigAlg,
        issuerName,
        seq(time(notBefore), time(notAfter)),
        subject,
        spkiFromPoint(key.publicKey),
        exts.length ? explicit(3, seq(...exts)) : new Uint8Array(0),
    );
    const signature = signDer(signer, tbs, o.rng !== undefined);
    const der = seq(tbs, sigAlg, bitString(signature));
    return issued(der, key, skid);
}

/**
 * The parts of a DAC TBSCertificate that are the same for every DAC of one issuer, VID/PID and validity: a
 * mass-production batch builds them once and each DAC only adds its serial, subject CN, public key and SKID
 * (same DER as the general path; a test compares the two).
 */
interface DacTemplate {
    version: Uint8Array;
    sigAlg: Uint8Array;
    issuerName: Uint8Array;
    validity: Uint8Array;
    cnOid: Uint8Array;
    /** The VID and PID RDNs after the CN. */
    subjectTail: Uint8Array[];
    spkiAlg: Uint8Array;
    basicConstraints: Uint8Array;
    keyUsage: Uint8Array;
    skidOid: Uint8Array;
    akid: Uint8Array;
    /** Byte layouts by CN length (see dacLayout); null: markers not unique, use the structured encoder. */
    layouts: Map<number, DacLayout | null>;
}
/** By issuer certificate and key objects (callers often pass a fresh `{ cert, key }` per DAC). */
const dacTemplates = new WeakMap<object, WeakMap<object, Map<string, DacTemplate>>>();

function dacTemplate(issuer: { cert: Certificate; key: P256Key }, vid: number, pid: number, notBefore: Date, notAfter: Date): DacTemplate {
    let perCert = dacTemplates.get(issuer.cert);
    if (!perCert) dacTemplates.set(issuer.cert, (perCert = new WeakMap()));
    let perIssuer = perCert.get(issuer.key);
    if (!perIssuer) perCert.set(issuer.key, (perIssuer = new Map()));
    const id = `${vid}/${pid}/${notBefore.getTime()}/${notAfter.getTime()}`;
    let t = perIssuer.get(id);
    if (!t) {
        if (perIssuer.size >= 16) perIssuer.clear();
        t = {
            version: explicit(0, integer(2)),
            sigAlg: seq(oid(OID.ecdsaWithSHA256)),
            issuerName: issuer.cert.subjectDer,
            validity: seq(time(notBefore), time(notAfter)),
            cnOid: oid(OID.commonName),
            subjectTail: [set(seq(oid(OID.matterVid), utf8(hex4(vid)))), set(seq(oid(OID.matterPid), utf8(hex4(pid))))],
            spkiAlg: seq(oid(OID.ecPublicKey), oid(OID.prime256v1)),
            basicConstraints: ext(OID.basicConstraints, true, seq()),
            keyUsage: ext(OID.keyUsage, true, keyUsageBits(KU.digitalSignature)),
            skidOid: oid(OID.subjectKeyIdentifier),
            akid: ext(OID.authorityKeyIdentifier, false, seq(tlv(0x80, issuerSkid(issuer)))),
            layouts: new Map(),
        };
        perIssuer.set(id, t);
    }
    return t;
}

/** issueCertificate for a DAC without overrides (validated by the caller), from the cached template. */
function issueDacFromTemplate(o: IssueOptions, key: P256Key, issuer: { cert: Certificate; key: P256Key }, notBefore: Date, notAfter: Date): IssuedCertificate {
    if (notAfter.getTime() < notBefore.getTime()) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "notAfter is before notBefore", { field: "notAfter" });
    let serialBytes: Uint8Array | undefined;
    if (o.serial === undefined) {
        serialBytes = o.rng ? o.rng.bytes(8) : osRandomBytes(8);
        serialBytes[0]! &= 0x7f;
        if (serialBytes[0] === 0) serialBytes[0] = 1; // 8 bytes, first one 1..0x7F: its DER INTEGER is exactly these bytes
    } else if (o.serial <= 0n) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "serial must be positive", { field: "serial" });
    const t = dacTemplate(issuer, o.vid!, o.pid!, notBefore, notAfter);
    const skid = keyIdentifier(key.publicKey);
    const cn = o.commonName ?? "mfgsim DAC";
    const cnBytes = utf8Encoder.encode(cn);
    const layout = serialBytes && key.publicKey.length === 65 ? dacLayout(t, cnBytes.length) : undefined;
    let tbs: Uint8Array;
    if (layout) {
        tbs = layout.tbs.slice();
        tbs.set(serialBytes!, layout.serial);
        if (cnBytes.length) tbs.set(cnBytes, layout.cn);
        tbs.set(key.publicKey, layout.pub);
        tbs.set(skid, layout.skid);
    } else tbs = dacTbs(t, o.serial ?? BigInt("0x" + Buffer.from(serialBytes!).toString("hex")), cn, key.publicKey, skid);
    const signature = signDer(issuer.key, tbs, o.rng !== undefined);
    const der = seq(tbs, t.sigAlg, bitString(signature));
    return issued(der, key, skid);
}

const utf8Encoder = new TextEncoder();

function dacTbs(t: DacTemplate, serial: bigint, cn: string, publicKey: Uint8Array, skid: Uint8Array): Uint8Array {
    return seq(
        t.version,
        integer(serial),
        t.sigAlg,
        t.issuerName,
        t.validity,
        seq(set(seq(t.cnOid, utf8(cn))), ...t.subjectTail),
        seq(t.spkiAlg, bitString(publicKey)),
        explicit(3, seq(t.basicConstraints, t.keyUsage, seq(t.skidOid, octets(octets(skid))), t.akid)),
    );
}

/**
 * The whole TBSCertificate of a DAC with an 8-byte serial, a CN of `cnLength` UTF-8 bytes and a 65-byte key,
 * as bytes with the offsets of those fields: a DAC is then one copy and four writes. Found by encoding marker
 * values once; undefined (use dacTbs) when a marker is not unique in the encoding, e.g. a CN of a few bytes.
 */
interface DacLayout {
    tbs: Uint8Array;
    serial: number;
    cn: number;
    pub: number;
    skid: number;
}

function dacLayout(t: DacTemplate, cnLength: number): DacLayout | undefined {
    const cached = t.layouts.get(cnLength);
    if (cached !== undefined) return cached ?? undefined;
    const marker = (n: number, a: number, b: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * a + b) & 0xff));
    const serial = Buffer.from([0x3c, 0xa5, 0x5a, 0xc3, 0x96, 0x69, 0x0f, 0xf1]);
    const cn = Buffer.from(Array.from({ length: cnLength }, (_, i) => 0x41 + ((i * 7 + 3) % 26))); // ASCII: one byte a character
    const pub = Buffer.concat([Buffer.of(4), marker(64, 37, 11)]);
    const skid = marker(20, 53, 0x87);
    const tbs = Buffer.from(dacTbs(t, BigInt("0x" + serial.toString("hex")), cn.toString("latin1"), pub, skid));
    const at = (m: Buffer): number => {
        const i = tbs.indexOf(m);
        return i >= 0 && tbs.lastIndexOf(m) === i ? i : -1;
    };
    const layout = { tbs: new Uint8Array(tbs), serial: at(serial), cn: cnLength ? at(cn) : 0, pub: at(pub), skid: at(skid) };
    const ok = layout.serial >= 0 && layout.cn >= 0 && layout.pub >= 0 && layout.skid >= 0;
    if (t.layouts.size >= 16) t.layouts.clear();
    t.layouts.set(cnLength, ok ? layout : null);
    return ok ? layout : undefined;
}

export const issuePaa = (o: Omit<IssueOptions, "kind" | "issuer">): IssuedCertificate => issueCertificate({ commonName: "mfgsim Test PAA", ...o, kind: "PAA" });
export const issuePai = (o: Omit<IssueOptions, "kind">): IssuedCertificate => issueCertificate({ commonName: "mfgsim Test PAI", ...o, kind: "PAI" });
export const issueDac = (o: Omit<IssueOptions, "kind">): IssuedCertificate => issueCertificate({ commonName: "mfgsim Test DAC", ...o, kind: "DAC" });

/** Reference to `concat`/`TAG` kept for callers composing raw extensions. */
export { TAG, concat };

/** An issued certificate whose parsed and PEM forms are computed on first use (mass production needs only the DER). */
function issued(der: Uint8Array, key: P256Key, skid: Uint8Array | null): IssuedCertificate {
    let parsed: Certificate | undefined;
    let pemText: string | undefined;
    return {
        der, key, skid,
        get pem() {
            return (pemText ??= pem("CERTIFICATE", der));
        },
        get cert() {
            return (parsed ??= parseCertificate(der));
        },
    };
}
