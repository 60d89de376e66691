/**
 * Strict X.509 v1–v3 certificate parsing (RFC 5280 DER) into the fields the Matter attestation rules look at:
 * names with their attribute OIDs, validity, SPKI (algorithm, curve, point), extensions with criticality and
 * the decoded basicConstraints / keyUsage / SKID / AKID. Decoding errors are DiagnosticErrors naming the field.
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import {
    type DerNode, TAG, children, decodeBitString, decodeBoolean, decodeInteger, decodeOid, decodeString, decodeTime,
    expectCount, expectTag, hex, parseDer, readElement,
} from "./der.js";

export const OID = {
    ecPublicKey: "1.2.840.10045.2.1",
    prime256v1: "1.2.840.10045.3.1.7",
    secp256k1: "1.3.132.0.10",
    ecdsaWithSHA256: "1.2.840.10045.4.3.2",
    ecdsaWithSHA1: "1.2.840.10045.4.1",
    sha256: "2.16.840.1.101.3.4.2.1",
    commonName: "2.5.4.3",
    organizationName: "2.5.4.10",
    matterVid: "1.3.6.1.4.1.37244.2.1",
    matterPid: "1.3.6.1.4.1.37244.2.2",
    basicConstraints: "2.5.29.19",
    keyUsage: "2.5.29.15",
    extKeyUsage: "2.5.29.37",
    subjectKeyIdentifier: "2.5.29.14",
    authorityKeyIdentifier: "2.5.29.35",
    subjectAltName: "2.5.29.17",
    authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
    pkcs7Data: "1.2.840.113549.1.7.1",
    pkcs7SignedData: "1.2.840.113549.1.7.2",
} as const;

const OID_NAMES: Record<string, string> = {
    [OID.commonName]: "CN",
    [OID.organizationName]: "O",
    "2.5.4.6": "C",
    "2.5.4.11": "OU",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    [OID.matterVid]: "VID",
    [OID.matterPid]: "PID",
    "1.3.6.1.4.1.37244.1.1": "NodeId",
    "1.3.6.1.4.1.37244.1.4": "RCAC",
    "1.3.6.1.4.1.37244.1.5": "FabricId",
};

export const KEY_USAGE_BITS = [
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
    "encipherOnly", "decipherOnly",
] as const;
export const KU = { digitalSignature: 1 << 0, keyCertSign: 1 << 5, cRLSign: 1 << 6 } as const;

export interface NameAttribute {
    oid: string;
    /** Short name (CN, O, VID, PID, …) or the dotted OID. */
    type: string;
    /** DER string tag of the value. */
    tag: number;
    /** Raw value octets (what CHIP compares and scans). */
    bytes: Uint8Array;
    /** Decoded text, or undefined when the value is not a string type. */
    text: string | undefined;
}

export interface Extension {
    oid: string;
    critical: boolean;
    value: Uint8Array;
    /** Offset of the extension in the certificate. */
    offset: number;
}

export interface BasicConstraints {
    ca: boolean;
    pathLen: number | undefined;
}

export interface Certificate {
    der: Uint8Array;
    tbs: Uint8Array;
    /** 1, 2 or 3 (the X.509 version number, not the encoded 0..2). */
    version: number;
    serial: bigint;
    serialBytes: Uint8Array;
    tbsSignatureOid: string;
    signatureOid: string;
    signature: Uint8Array;
    issuer: NameAttribute[];
    issuerDer: Uint8Array;
    subject: NameAttribute[];
    subjectDer: Uint8Array;
    notBefore: Date;
    notAfter: Date;
    spki: Uint8Array;
    keyAlgorithmOid: string;
    /** Named curve OID (undefined when the parameters are not a named curve). */
    curveOid: string | undefined;
    publicKey: Uint8Array;
    extensions: Extension[];
}

export class CertificateFormatError extends DiagnosticError {
    override name = "CertificateFormatError";
}

function formatError(message: string, field: string, offset?: number): never {
    throw new CertificateFormatError("CHIP_ERROR_UNSUPPORTED_CERT_FORMAT", message, { field, offset });
}

/** Wraps a DER failure so it carries the certificate-level field name. */
function guard<T>(field: string, f: () => T): T {
    try {
        return f();
    } catch (e) {
        if (e instanceof DiagnosticError) {
            throw new CertificateFormatError("CHIP_ERROR_UNSUPPORTED_CERT_FORMAT", e.message, { field: e.context.field ?? field, offset: e.context.offset });
        }
        throw e;
    }
}

function parseName(node: DerNode, field: string): NameAttribute[] {
    expectTag(node, TAG.SEQUENCE, field);
    const out: NameAttribute[] = [];
    for (const rdn of children(node, field)) {
        expectTag(rdn, TAG.SET, `${field}.RDN`);
        const atvs = children(rdn, `${field}.RDN`);
        if (atvs.length === 0) formatError("empty RelativeDistinguishedName", field, rdn.start);
        for (const atv of atvs) {
            expectTag(atv, TAG.SEQUENCE, `${field}.attribute`);
            const parts = children(atv, `${field}.attribute`);
            expectCount(parts, 2, 2, `${field}.attribute`, atv.start);
            const oid = decodeOid(parts[0]!, `${field}.attribute.type`);
            const v = parts[1]!;
            let text: string | undefined;
            try {
                text = decodeString(v, `${field}.${OID_NAMES[oid] ?? oid}`);
            } catch {
                text = undefined;
            }
            out.push({ oid, type: OID_NAMES[oid] ?? oid, tag: v.tag, bytes: v.value, text });
        }
    }
    return out;
}

/** Parses a DER certificate strictly. Throws CertificateFormatError (a DiagnosticError) naming the field. */
export function parseCertificate(der: Uint8Array): Certificate {
    return guard("Certificate", () => {
        const top = parseDer(der, "Certificate");
        expectTag(top, TAG.SEQUENCE, "Certificate");
        const parts = children(top, "Certificate");
        expectCount(parts, 3, 3, "Certificate", top.start);
        const [tbsN, sigAlgN, sigN] = parts as [DerNode, DerNode, DerNode];
        expectTag(tbsN, TAG.SEQUENCE, "tbsCertificate");
        const signatureOid = parseAlgId(sigAlgN, "signatureAlgorithm");
        const sig = decodeBitString(sigN, "signatureValue");
        if (sig.unused !== 0) formatError("signature BIT STRING has unused bits", "signatureValue", sigN.start);

        const t = children(tbsN, "tbsCertificate");
        let i = 0;
        let version = 1;
        if (t[i]?.tag === 0xa0) {
            const inner = children(t[i]!, "tbsCertificate.version");
            expectCount(inner, 1, 1, "tbsCertificate.version", t[i]!.start);
            const v = decodeInteger(inner[0]!, "tbsCertificate.version");
            if (v < 0n || v > 2n) formatError(`version ${v} is not 0..2`, "tbsCertificate.version", t[i]!.start);
            if (v === 0n) formatError("version v1 must be omitted in DER (DEFAULT)", "tbsCertificate.version", t[i]!.start);
            version = Number(v) + 1;
            i++;
        }
        const serialN = expectTag(t[i++], TAG.INTEGER, "tbsCertificate.serialNumber", tbsN.start);
        const serial = decodeInteger(serialN, "tbsCertificate.serialNumber");
        const tbsSignatureOid = parseAlgId(t[i++], "tbsCertificate.signature");
        const issuerN = t[i++];
        if (!issuerN) formatError("missing", "tbsCertificate.issuer", tbsN.end);
        const issuer = parseName(issuerN, "issuer");
        const validityN = expectTag(t[i++], TAG.SEQUENCE, "tbsCertificate.validity", tbsN.start);
        const vparts = children(validityN, "validity");
        expectCount(vparts, 2, 2, "validity", validityN.start);
        const notBefore = decodeTime(vparts[0]!, "validity.notBefore");
        const notAfter = decodeTime(vparts[1]!, "validity.notAfter");
        const subjectN = t[i++];
        if (!subjectN) formatError("missing", "tbsCertificate.subject", tbsN.end);
        const subject = parseName(subjectN, "subject");
        const spkiN = expectTag(t[i++], TAG.SEQUENCE, "subjectPublicKeyInfo", tbsN.start);
        const sp = children(spkiN, "subjectPublicKeyInfo");
        expectCount(sp, 2, 2, "subjectPublicKeyInfo", spkiN.start);
        expectTag(sp[0], TAG.SEQUENCE, "subjectPublicKeyInfo.algorithm");
        const alg = children(sp[0]!, "subjectPublicKeyInfo.algorithm");
        expectCount(alg, 1, 2, "subjectPublicKeyInfo.algorithm", sp[0]!.start);
        const keyAlgorithmOid = decodeOid(alg[0]!, "subjectPublicKeyInfo.algorithm");
        const curveOid = alg[1]?.tag === TAG.OID ? decodeOid(alg[1], "subjectPublicKeyInfo.namedCurve") : undefined;
        const pk = decodeBitString(sp[1]!, "subjectPublicKeyInfo.subjectPublicKey");
        if (pk.unused !== 0) formatError("public key BIT STRING has unused bits", "subjectPublicKeyInfo.subjectPublicKey", sp[1]!.start);

        // optional issuerUniqueID [1], subjectUniqueID [2] (v2/v3 only), extensions [3] (v3 only)
        while (t[i] && (t[i]!.tag === 0x81 || t[i]!.tag === 0x82 || t[i]!.tag === 0xa1 || t[i]!.tag === 0xa2)) {
            if (version < 2) formatError("unique identifiers need v2 or v3", "tbsCertificate", t[i]!.start);
            i++;
        }
        const extensions: Extension[] = [];
        if (t[i]?.tag === 0xa3) {
            if (version !== 3) formatError("extensions need a v3 certificate", "tbsCertificate.extensions", t[i]!.start);
            const wrap = children(t[i]!, "extensions");
            expectCount(wrap, 1, 1, "extensions", t[i]!.start);
            expectTag(wrap[0], TAG.SEQUENCE, "extensions");
            const exts = children(wrap[0]!, "extensions");
            if (exts.length === 0) formatError("empty extensions SEQUENCE", "extensions", wrap[0]!.start);
            for (const e of exts) {
                expectTag(e, TAG.SEQUENCE, "extension");
                const ep = children(e, "extension");
                expectCount(ep, 2, 3, "extension", e.start);
                const oid = decodeOid(ep[0]!, "extension.extnID");
                let critical = false;
                if (ep.length === 3) critical = decodeBoolean(ep[1]!, `extension ${oid}.critical`);
                const val = expectTag(ep[ep.length - 1], TAG.OCTET_STRING, `extension ${oid}.extnValue`);
                if (extensions.some(x => x.oid === oid)) formatError(`duplicate extension ${oid}`, `extension ${oid}`, e.start);
                extensions.push({ oid, critical, value: val.value, offset: e.start });
            }
            i++;
        }
        if (i !== t.length) formatError("unexpected trailing fields", "tbsCertificate", t[i]!.start);

        return {
            der, tbs: tbsN.raw, version, serial, serialBytes: serialN.value, tbsSignatureOid, signatureOid, signature: sig.bytes,
            issuer, issuerDer: issuerN.raw, subject, subjectDer: subjectN.raw, notBefore, notAfter, spki: spkiN.raw,
            keyAlgorithmOid, curveOid, publicKey: pk.bytes, extensions,
        };
    });
}

/** AlgorithmIdentifier → OID; parameters must be absent or NULL. */
function parseAlgId(node: DerNode | undefined, field: string): string {
    const n = expectTag(node, TAG.SEQUENCE, field);
    const p = children(n, field);
    expectCount(p, 1, 2, field, n.start);
    if (p[1] && !(p[1].tag === TAG.NULL && p[1].value.length === 0)) formatError("unexpected algorithm parameters", field, p[1].start);
    return decodeOid(p[0]!, field);
}

export function findExtension(cert: Certificate, oid: string): Extension | undefined {
    return cert.extensions.find(e => e.oid === oid);
}

export function decodeBasicConstraints(ext: Extension): BasicConstraints {
    return guard("basicConstraints", () => {
        const n = parseDer(ext.value, "basicConstraints", ext.offset);
        const p = children(expectTag(n, TAG.SEQUENCE, "basicConstraints"), "basicConstraints");
        let i = 0;
        let ca = false;
        if (p[i]?.tag === TAG.BOOLEAN) {
            // an explicit FALSE (a DEFAULT value) is not DER, but OpenSSL and CHIP read it: accept it
            ca = decodeBoolean(p[i]!, "basicConstraints.cA");
            i++;
        }
        let pathLen: number | undefined;
        if (p[i]) {
            const v = decodeInteger(p[i]!, "basicConstraints.pathLenConstraint");
            if (v < 0n || v > 1000n) formatError(`pathLenConstraint ${v} out of range`, "basicConstraints.pathLenConstraint", p[i]!.start);
            pathLen = Number(v);
            i++;
        }
        if (i !== p.length) formatError("unexpected fields", "basicConstraints", n.start);
        return { ca, pathLen };
    });
}

/** keyUsage as a bit mask: bit i = named bit i (digitalSignature = bit 0, keyCertSign = 5, cRLSign = 6). */
export function decodeKeyUsage(ext: Extension): number {
    return guard("keyUsage", () => {
        const n = parseDer(ext.value, "keyUsage", ext.offset);
        const { bytes } = decodeBitString(n, "keyUsage");
        if (bytes.length > 2) formatError("keyUsage longer than 2 octets", "keyUsage", n.start);
        let mask = 0;
        for (let bit = 0; bit < bytes.length * 8; bit++) if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) mask |= 1 << bit;
        return mask;
    });
}

export function keyUsageNames(mask: number): string[] {
    return KEY_USAGE_BITS.filter((_, i) => mask & (1 << i));
}

export function decodeSkid(ext: Extension): Uint8Array {
    return guard("subjectKeyIdentifier", () => expectTag(parseDer(ext.value, "subjectKeyIdentifier", ext.offset), TAG.OCTET_STRING, "subjectKeyIdentifier").value);
}

/** AKID keyIdentifier ([0]); undefined when the extension carries no key identifier. */
export function decodeAkid(ext: Extension): Uint8Array | undefined {
    return guard("authorityKeyIdentifier", () => {
        const n = expectTag(parseDer(ext.value, "authorityKeyIdentifier", ext.offset), TAG.SEQUENCE, "authorityKeyIdentifier");
        const p = children(n, "authorityKeyIdentifier");
        for (const c of p) if (c.tag !== 0x80 && c.tag !== 0xa1 && c.tag !== 0x82) formatError(`unexpected tag 0x${c.tag.toString(16)}`, "authorityKeyIdentifier", c.start);
        return p.find(c => c.tag === 0x80)?.value;
    });
}

export function skidOf(cert: Certificate): Uint8Array | undefined {
    const e = findExtension(cert, OID.subjectKeyIdentifier);
    return e ? decodeSkid(e) : undefined;
}

export function akidOf(cert: Certificate): Uint8Array | undefined {
    const e = findExtension(cert, OID.authorityKeyIdentifier);
    return e ? decodeAkid(e) : undefined;
}

/** OpenSSL-style one-line name: `CN=Matter Test PAI, VID=FFF1`. */
export function formatName(name: NameAttribute[]): string {
    return name.map(a => `${a.type}=${a.text ?? hex(a.bytes)}`).join(", ");
}

/** Reads the first element of arbitrary bytes (used to sniff PEM vs DER). */
export function looksLikeDer(b: Uint8Array): boolean {
    try {
        readElement(b, 0, b.length, "sniff");
        return b[0] === 0x30;
    } catch {
        return false;
    }
}
