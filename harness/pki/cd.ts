/**
 * Certification Declarations (Matter core spec §6.3): the TLV content and its CMS SignedData envelope
 * (v3, SHA-256, pkcs7-data eContent, no certificates, one SignerInfo v3 with sid = [0] subjectKeyIdentifier,
 * ecdsa-with-SHA256 over the raw TLV, no signed attributes). Encoding, signing, strict parsing of every field,
 * and CHIP's two-stage reading (CMS_ExtractKeyId, then CMS_Verify) that the verifier maps to 600/602.
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import {
    type DerNode, TAG, children, decodeInteger, decodeOid, equalBytes, expectCount, expectTag, explicit, integer, octets, oid,
    parseDer, readElement, seq, set, tlv,
} from "./der.js";
import { type P256Key, signDer, verifySignature } from "./keys.js";
import type { KeyObject } from "node:crypto";
import { TlvWriter, type TlvElement, decodeTlv, getBytes, getContainer, getUint, isContext, TlvError } from "./tlv.js";
import { OID } from "./x509.js";

export interface CertificationElements {
    formatVersion: number;
    vendorId: number;
    productIds: number[];
    deviceTypeId: number;
    certificateId: string;
    securityLevel: number;
    securityInformation: number;
    versionNumber: number;
    /** 0 development and test, 1 provisional, 2 official. */
    certificationType: number;
    dacOriginVendorId?: number;
    dacOriginProductId?: number;
    authorizedPaaList?: Uint8Array[];
}

export interface DecodedCertificationElements extends CertificationElements {
    /** Context tags after the known fields (CHIP ignores them). */
    unknownTags: number[];
}

export class CdFormatError extends DiagnosticError {
    override name = "CdFormatError";
}

const fail = (code: string, message: string, field: string, offset?: number): never => {
    throw new CdFormatError(code, message, { field, offset });
};

/** Encodes the CD content TLV (fields in tag order). Validates the spec's constraints. */
export function encodeCertificationElements(c: CertificationElements): Uint8Array {
    const u = (v: number, max: number, f: string) => {
        if (!Number.isInteger(v) || v < 0 || v > max) fail("CHIP_ERROR_INVALID_ARGUMENT", `${f} must be 0..0x${max.toString(16)}, got ${v}`, f);
    };
    u(c.formatVersion, 0xffff, "format_version");
    u(c.vendorId, 0xffff, "vendor_id");
    if (c.productIds.length < 1 || c.productIds.length > 100) fail("CHIP_ERROR_INVALID_ARGUMENT", `product_id_array needs 1..100 entries, got ${c.productIds.length}`, "product_id_array");
    c.productIds.forEach(p => u(p, 0xffff, "product_id_array"));
    u(c.deviceTypeId, 0xffffffff, "device_type_id");
    if (new TextEncoder().encode(c.certificateId).length !== 19) fail("CHIP_ERROR_INVALID_ARGUMENT", `certificate_id must be 19 characters, got '${c.certificateId}'`, "certificate_id");
    u(c.securityLevel, 0xff, "security_level");
    u(c.securityInformation, 0xffff, "security_information");
    u(c.versionNumber, 0xffff, "version_number");
    u(c.certificationType, 0xff, "certification_type");
    if ((c.dacOriginVendorId === undefined) !== (c.dacOriginProductId === undefined)) {
        fail("CHIP_ERROR_INVALID_ARGUMENT", "dac_origin_vendor_id and dac_origin_product_id go together", "dac_origin_vendor_id");
    }
    const w = new TlvWriter().startStruct()
        .uint(0, c.formatVersion).uint(1, c.vendorId).startArray(2);
    for (const p of c.productIds) w.uint(undefined, p);
    w.end().uint(3, c.deviceTypeId).utf8(4, c.certificateId).uint(5, c.securityLevel).uint(6, c.securityInformation)
        .uint(7, c.versionNumber).uint(8, c.certificationType);
    if (c.dacOriginVendorId !== undefined) {
        u(c.dacOriginVendorId, 0xffff, "dac_origin_vendor_id");
        u(c.dacOriginProductId!, 0xffff, "dac_origin_product_id");
        w.uint(9, c.dacOriginVendorId).uint(10, c.dacOriginProductId!);
    }
    if (c.authorizedPaaList !== undefined) {
        if (c.authorizedPaaList.length > 10) fail("CHIP_ERROR_INVALID_ARGUMENT", "authorized_paa_list holds at most 10 entries", "authorized_paa_list");
        w.startArray(11);
        for (const s of c.authorizedPaaList) {
            if (s.length !== 20) fail("CHIP_ERROR_INVALID_ARGUMENT", "authorized_paa_list entries are 20-byte SKIDs", "authorized_paa_list");
            w.bytes(undefined, s);
        }
        w.end();
    }
    return w.end().toBytes();
}

const FIELDS = ["format_version", "vendor_id", "product_id_array", "device_type_id", "certificate_id", "security_level", "security_information", "version_number", "certification_type", "dac_origin_vendor_id", "dac_origin_product_id", "authorized_paa_list"];

/**
 * Decodes CD content with DecodeCertificationElements' rules: fields 0–8 mandatory and in order with CHIP's
 * integer widths; 9 requires 10; 10 without 9 is invalid; 11 is an array of 20-byte byte strings; unknown
 * trailing context fields are tolerated. Throws CdFormatError naming the field.
 */
export function decodeCertificationElements(content: Uint8Array): DecodedCertificationElements {
    let top: TlvElement;
    try {
        top = decodeTlv(content, "cd_content");
    } catch (e) {
        if (e instanceof TlvError) throw new CdFormatError(e.code, e.message, { field: "cd_content", offset: e.context.offset });
        throw e;
    }
    if (top.tag.kind !== "anonymous" || top.type !== "struct") fail("CHIP_ERROR_WRONG_TLV_TYPE", "CD content must be an anonymous structure", "cd_content", 0);
    const els = top.value as TlvElement[];
    let i = 0;
    const take = (num: number): TlvElement => {
        const el = els[i];
        if (!isContext(el, num)) {
            fail(el ? "CHIP_ERROR_UNEXPECTED_TLV_ELEMENT" : "CHIP_END_OF_TLV", el ? `expected tag ${num} (${FIELDS[num]}), found ${describeTag(el)}` : `missing tag ${num} (${FIELDS[num]})`, FIELDS[num]!, el?.offset);
        }
        i++;
        return el!;
    };
    const wrap = <T>(f: string, g: () => T): T => {
        try {
            return g();
        } catch (e) {
            if (e instanceof TlvError) throw new CdFormatError(e.code, e.message, { field: f, offset: e.context.offset });
            throw e;
        }
    };
    const formatVersion = wrap("format_version", () => getUint(take(0), 0xffff, "format_version"));
    const vendorId = wrap("vendor_id", () => getUint(take(1), 0xffff, "vendor_id"));
    const productIds = wrap("product_id_array", () => getContainer(take(2), "array", "product_id_array").map(p => {
        if (p.tag.kind !== "anonymous") fail("CHIP_ERROR_UNEXPECTED_TLV_ELEMENT", "product_id_array entries must be anonymous", "product_id_array", p.offset);
        return getUint(p, 0xffff, "product_id_array");
    }));
    const deviceTypeId = wrap("device_type_id", () => getUint(take(3), 0xffffffff, "device_type_id"));
    const certEl = take(4);
    if (certEl.type !== "utf8") fail("CHIP_ERROR_WRONG_TLV_TYPE", `certificate_id must be a UTF-8 string, got ${certEl.type}`, "certificate_id", certEl.offset);
    const cb = certEl.value as Uint8Array;
    if (cb.length !== 19 || cb.includes(0)) fail("CHIP_ERROR_INVALID_TLV_ELEMENT", `certificate_id must be exactly 19 characters, got ${cb.length} bytes`, "certificate_id", certEl.offset);
    const certificateId = Buffer.from(cb).toString("utf8");
    const securityLevel = wrap("security_level", () => getUint(take(5), 0xff, "security_level"));
    const securityInformation = wrap("security_information", () => getUint(take(6), 0xffff, "security_information"));
    const versionNumber = wrap("version_number", () => getUint(take(7), 0xffff, "version_number"));
    const certificationType = wrap("certification_type", () => getUint(take(8), 0xff, "certification_type"));
    const out: DecodedCertificationElements = {
        formatVersion, vendorId, productIds, deviceTypeId, certificateId, securityLevel, securityInformation, versionNumber, certificationType, unknownTags: [],
    };
    if (isContext(els[i], 9)) {
        out.dacOriginVendorId = wrap("dac_origin_vendor_id", () => getUint(take(9), 0xffff, "dac_origin_vendor_id"));
        if (!isContext(els[i], 10)) fail("CHIP_ERROR_UNEXPECTED_TLV_ELEMENT", "dac_origin_vendor_id present without dac_origin_product_id", "dac_origin_product_id", els[i]?.offset);
        out.dacOriginProductId = wrap("dac_origin_product_id", () => getUint(take(10), 0xffff, "dac_origin_product_id"));
    } else if (isContext(els[i], 10)) {
        fail("CHIP_ERROR_INVALID_TLV_ELEMENT", "dac_origin_product_id present without dac_origin_vendor_id", "dac_origin_product_id", els[i]!.offset);
    }
    if (isContext(els[i], 11)) {
        const list = wrap("authorized_paa_list", () => getContainer(take(11), "array", "authorized_paa_list"));
        out.authorizedPaaList = list.map(e => {
            const b = wrap("authorized_paa_list", () => getBytes(e, "authorized_paa_list"));
            if (e.tag.kind !== "anonymous" || b.length !== 20) fail("CHIP_ERROR_UNEXPECTED_TLV_ELEMENT", `authorized_paa_list entries must be anonymous 20-byte SKIDs, got ${b.length} bytes`, "authorized_paa_list", e.offset);
            return b;
        });
    }
    for (; i < els.length; i++) out.unknownTags.push(els[i]!.tag.kind === "context" ? (els[i]!.tag as { num: number }).num : -1);
    return out;
}

function describeTag(el: TlvElement): string {
    return el.tag.kind === "context" ? `tag ${el.tag.num}` : el.tag.kind === "anonymous" ? "an anonymous element" : `profile tag ${el.tag.num}`;
}

// ---------------------------------------------------------------- CMS

export interface CdSigner {
    key: P256Key;
    /** 20-byte subject key identifier of the signing certificate. */
    skid: Uint8Array;
}

/** Builds the CMS SignedData envelope (ContentInfo) around CD content. */
export function signCertificationDeclaration(content: Uint8Array, signer: CdSigner, deterministic = false): Uint8Array {
    if (signer.skid.length === 0) fail("CHIP_ERROR_INVALID_ARGUMENT", "signer SKID is empty", "subjectKeyIdentifier");
    const signature = signDer(signer.key, content, deterministic);
    const sha256 = seq(oid(OID.sha256));
    const signerInfo = seq(integer(3), tlv(0x80, signer.skid), sha256, seq(oid(OID.ecdsaWithSHA256)), octets(signature));
    const signedData = seq(integer(3), set(sha256), seq(oid(OID.pkcs7Data), explicit(0, octets(content))), set(signerInfo));
    return seq(oid(OID.pkcs7SignedData), explicit(0, signedData));
}

/** Encodes and signs in one step. */
export function createCertificationDeclaration(c: CertificationElements, signer: CdSigner, deterministic = false): Uint8Array {
    return signCertificationDeclaration(encodeCertificationElements(c), signer, deterministic);
}

export interface ParsedCms {
    contentType: string;
    version: number;
    digestAlgorithms: string[];
    eContentType: string;
    content: Uint8Array;
    signerVersion: number;
    signerKeyId: Uint8Array;
    digestAlgorithm: string;
    signatureAlgorithm: string;
    /** DER ECDSA-Sig-Value. */
    signature: Uint8Array;
    /** r‖s, 64 bytes. */
    signatureRaw: Uint8Array;
}

function cmsFail(message: string, field: string, offset?: number): never {
    throw new CdFormatError("CHIP_ERROR_UNSUPPORTED_CERT_FORMAT", message, { field, offset });
}

function cmsGuard<T>(g: () => T): T {
    try {
        return g();
    } catch (e) {
        if (e instanceof CdFormatError) throw e;
        if (e instanceof DiagnosticError) throw new CdFormatError("CHIP_ERROR_UNSUPPORTED_CERT_FORMAT", e.message, e.context);
        throw e;
    }
}

/** ECDSA-Sig-Value DER → r‖s (CHIP's EcdsaAsn1SignatureToRaw: each integer positive, ≤ 32 bytes). */
export function ecdsaDerToRaw(der: Uint8Array, field = "signature"): Uint8Array {
    const top = expectTag(parseDer(der, field), TAG.SEQUENCE, field);
    const p = children(top, field);
    expectCount(p, 2, 2, field, top.start);
    const out = new Uint8Array(64);
    p.forEach((n, i) => {
        const v = decodeInteger(n, field);
        if (v <= 0n || v >= 1n << 256n) cmsFail(`signature ${i ? "s" : "r"} out of range`, field, n.start);
        const h = v.toString(16).padStart(64, "0");
        out.set(Buffer.from(h, "hex"), i * 32);
    });
    return out;
}

function algOid(node: DerNode | undefined, field: string, allowNull: boolean): string {
    const n = expectTag(node, TAG.SEQUENCE, field);
    const p = children(n, field);
    expectCount(p, 1, allowNull ? 2 : 1, field, n.start);
    if (p[1] && !(p[1].tag === TAG.NULL && p[1].value.length === 0)) cmsFail("unexpected algorithm parameters", field, p[1].start);
    return decodeOid(p[0]!, field);
}

function parseSignerInfos(node: DerNode | undefined): Pick<ParsedCms, "signerVersion" | "signerKeyId" | "digestAlgorithm" | "signatureAlgorithm" | "signature" | "signatureRaw"> {
    const setN = expectTag(node, TAG.SET, "signerInfos");
    const infos = children(setN, "signerInfos");
    expectCount(infos, 1, 1, "signerInfos", setN.start);
    const si = expectTag(infos[0], TAG.SEQUENCE, "signerInfo");
    const p = children(si, "signerInfo");
    if (p.length !== 5) cmsFail(`SignerInfo must have 5 fields (no signed/unsigned attributes), got ${p.length}`, "signerInfo", si.start);
    const version = decodeInteger(p[0]!, "signerInfo.version");
    if (version !== 3n) cmsFail(`SignerInfo version must be 3 (v3), got ${version}`, "signerInfo.version", p[0]!.start);
    const sid = p[1]!;
    if (sid.tag !== 0x80) cmsFail(`sid must be [0] subjectKeyIdentifier, got tag 0x${sid.tag.toString(16)}`, "signerInfo.sid", sid.start);
    const digestAlgorithm = algOid(p[2], "signerInfo.digestAlgorithm", true);
    if (digestAlgorithm !== OID.sha256) cmsFail(`digest algorithm must be SHA-256, got ${digestAlgorithm}`, "signerInfo.digestAlgorithm", p[2]!.start);
    const signatureAlgorithm = algOid(p[3], "signerInfo.signatureAlgorithm", false);
    if (signatureAlgorithm !== OID.ecdsaWithSHA256) cmsFail(`signature algorithm must be ecdsa-with-SHA256, got ${signatureAlgorithm}`, "signerInfo.signatureAlgorithm", p[3]!.start);
    const sig = expectTag(p[4], TAG.OCTET_STRING, "signerInfo.signature");
    const signatureRaw = ecdsaDerToRaw(sig.value, "signerInfo.signature");
    return { signerVersion: 3, signerKeyId: sid.value, digestAlgorithm, signatureAlgorithm, signature: sig.value, signatureRaw };
}

/**
 * CHIP's CMS_ExtractKeyId: the envelope shape and a fully valid SignerInfo; the other SignedData fields are
 * not looked at here. Failure → CertificationDeclarationNoKeyId (600).
 */
export function extractCdSignerKeyId(der: Uint8Array): Uint8Array {
    return cmsGuard(() => {
        const top = expectTag(parseDer(der, "ContentInfo"), TAG.SEQUENCE, "ContentInfo");
        const p = children(top, "ContentInfo");
        expectCount(p, 2, 2, "ContentInfo", top.start);
        const wrap = expectTag(p[1], 0xa0, "ContentInfo.content");
        const inner = children(wrap, "ContentInfo.content");
        expectCount(inner, 1, 1, "ContentInfo.content", wrap.start);
        const sd = children(expectTag(inner[0], TAG.SEQUENCE, "SignedData"), "SignedData");
        expectCount(sd, 4, 4, "SignedData", inner[0]!.start);
        return parseSignerInfos(sd[3]).signerKeyId;
    });
}

/** Parses every field of a CD envelope strictly (CMS_Verify's structure). Throws CdFormatError naming the field. */
export function parseCms(der: Uint8Array): ParsedCms {
    return cmsGuard(() => {
        const top = expectTag(parseDer(der, "ContentInfo"), TAG.SEQUENCE, "ContentInfo");
        const p = children(top, "ContentInfo");
        expectCount(p, 2, 2, "ContentInfo", top.start);
        const contentType = decodeOid(p[0]!, "ContentInfo.contentType");
        if (contentType !== OID.pkcs7SignedData) cmsFail(`content type must be signedData (${OID.pkcs7SignedData}), got ${contentType}`, "ContentInfo.contentType", p[0]!.start);
        const wrap = expectTag(p[1], 0xa0, "ContentInfo.content");
        const inner = children(wrap, "ContentInfo.content");
        expectCount(inner, 1, 1, "ContentInfo.content", wrap.start);
        const sdN = expectTag(inner[0], TAG.SEQUENCE, "SignedData");
        const sd = children(sdN, "SignedData");
        if (sd.length !== 4) cmsFail(`SignedData must have exactly version, digestAlgorithms, encapContentInfo, signerInfos (no certificates or CRLs); got ${sd.length} fields`, "SignedData", sdN.start);
        const version = decodeInteger(sd[0]!, "SignedData.version");
        if (version !== 3n) cmsFail(`SignedData version must be 3, got ${version}`, "SignedData.version", sd[0]!.start);
        const daSet = expectTag(sd[1], TAG.SET, "SignedData.digestAlgorithms");
        const das = children(daSet, "SignedData.digestAlgorithms");
        expectCount(das, 1, 1, "SignedData.digestAlgorithms", daSet.start);
        const digestAlgorithms = das.map(d => algOid(d, "SignedData.digestAlgorithms", true));
        if (digestAlgorithms[0] !== OID.sha256) cmsFail(`digest algorithm must be SHA-256, got ${digestAlgorithms[0]}`, "SignedData.digestAlgorithms", das[0]!.start);
        const encN = expectTag(sd[2], TAG.SEQUENCE, "encapContentInfo");
        const enc = children(encN, "encapContentInfo");
        expectCount(enc, 2, 2, "encapContentInfo", encN.start);
        const eContentType = decodeOid(enc[0]!, "encapContentInfo.eContentType");
        if (eContentType !== OID.pkcs7Data) cmsFail(`eContentType must be pkcs7-data (${OID.pkcs7Data}), got ${eContentType}`, "encapContentInfo.eContentType", enc[0]!.start);
        const ec = children(expectTag(enc[1], 0xa0, "encapContentInfo.eContent"), "encapContentInfo.eContent");
        expectCount(ec, 1, 1, "encapContentInfo.eContent", enc[1]!.start);
        const content = expectTag(ec[0], TAG.OCTET_STRING, "encapContentInfo.eContent").value;
        return { contentType, version: 3, digestAlgorithms, eContentType, content, ...parseSignerInfos(sd[3]) };
    });
}

/** CMS_Verify: full structure + ECDSA over the raw content. Returns the content or throws CdFormatError. */
export function verifyCms(der: Uint8Array, publicKey: KeyObject): ParsedCms {
    const cms = parseCms(der);
    if (!verifySignature(publicKey, cms.content, cms.signatureRaw, "ieee-p1363")) {
        throw new CdFormatError("CHIP_ERROR_INVALID_SIGNATURE", "CD signature does not verify with the signer's public key", { field: "signerInfo.signature" });
    }
    return cms;
}

/** Full parse for `cd inspect`: envelope + content. */
export function parseCertificationDeclaration(der: Uint8Array): { cms: ParsedCms; content: DecodedCertificationElements } {
    const cms = parseCms(der);
    return { cms, content: decodeCertificationElements(cms.content) };
}

export { equalBytes, readElement };
