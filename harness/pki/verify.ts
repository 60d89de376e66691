/**
 * The strict device-attestation verifier: connectedhomeip's DefaultDACVerifier::VerifyAttestationInformation
 * (check order and AttestationVerificationResult codes), with its helpers VerifyAttestationCertificateFormat,
 * ExtractVIDPIDFromX509Cert (Matter OIDs, else the `Mvid:`/`Mpid:` CN fallback), ValidateCertificateChain
 * (PAA→PAI→DAC evaluated at the DAC's notBefore), ValidateCertificationDeclarationSignature and
 * ValidateCertificateDeclarationPayload. Every failure returns a detail naming the certificate, the field,
 * and expected vs found. Pure (trust anchors come in a TrustStore); the clock is injectable.
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { deconstructAttestationElements } from "./attestation.js";
import { decodeCertificationElements, extractCdSignerKeyId, verifyCms, type DecodedCertificationElements } from "./cd.js";
import { concat, equalBytes, hex, hex16 } from "./der.js";
import { publicKeyObject, verifySignature } from "./keys.js";
import { type AttestationVerdict, verdict } from "./results.js";
import { type CdSignerEntry, type TrustStore, findCdSigner, findPaa } from "./trust.js";
import {
    type Certificate, KU, type NameAttribute, OID, akidOf, decodeBasicConstraints, decodeKeyUsage, decodeSkid, findExtension, keyUsageNames,
    parseCertificate, skidOf,
} from "./x509.js";

export type AttestationCertType = "PAA" | "PAI" | "DAC";

export interface AttestationInput {
    dac: Uint8Array;
    pai?: Uint8Array;
    attestationElements: Uint8Array;
    attestationChallenge: Uint8Array;
    /** Raw r‖s signature over elements ‖ challenge. */
    signature: Uint8Array;
    /** The nonce the commissioner sent. */
    nonce: Uint8Array;
    /** Basic Information VendorID / ProductID. */
    vendorId: number;
    productId: number;
}

export interface VerifyOptions {
    /** Accept CDs signed by a test key (the SDK test key or any signer not chaining to the CSA root). Default false. */
    allowTestKeys?: boolean;
    /** Accept provisional CDs (certification_type 1) signed by a test key. Default true (only official CDs are refused). */
    allowTestKeyForProvisional?: boolean;
    /**
     * Skip the attestation signature check (step 4) — for `attest verify` without --dac-key, where no device
     * key is available to sign the elements. Never set by a commissioner.
     */
    skipAttestationSignature?: boolean;
    /** Current time (default: the system clock). */
    now?: Date | (() => Date);
}

export interface VidPid {
    vid?: number;
    pid?: number;
    /** Where they came from. */
    source: "matter-oid" | "cn-fallback" | "none";
}

export interface AttestationReport extends AttestationVerdict {
    dac?: VidPid;
    pai?: VidPid;
    paa?: { name: string; vid?: number; skid?: string };
    cd?: DecodedCertificationElements & { signer: string; signerKind: string };
}

class Stop extends Error {
    constructor(readonly v: AttestationVerdict) {
        super(v.detail);
    }
}

const x4 = (n: number | undefined): string => (n === undefined ? "absent" : hex16(n));

// ------------------------------------------------------------------ certificate profile

/** VerifyAttestationCertificateFormat: returns undefined when the profile holds, else what is wrong. */
export function profileProblem(cert: Certificate, type: AttestationCertType): string | undefined {
    if (cert.version !== 3) return `version is v${cert.version}, must be v3`;
    if (cert.signatureOid !== OID.ecdsaWithSHA256) return `signature algorithm is ${cert.signatureOid}, must be ecdsa-with-SHA256 (${OID.ecdsaWithSHA256})`;
    const pk = publicKeyProblem(cert);
    if (pk) return pk;
    let bc = false, ku = false, skid = false, akid = false;
    for (const e of cert.extensions) {
        try {
            switch (e.oid) {
                case OID.basicConstraints: {
                    if (!e.critical) return "basicConstraints is not critical";
                    bc = true;
                    const v = decodeBasicConstraints(e);
                    if (type === "DAC" && (v.ca || v.pathLen !== undefined)) return `basicConstraints must be CA:FALSE without pathLen for a DAC, found CA:${v.ca}${v.pathLen !== undefined ? `, pathLen:${v.pathLen}` : ""}`;
                    if (type === "PAI" && (!v.ca || v.pathLen !== 0)) return `basicConstraints must be CA:TRUE, pathLen:0 for a PAI, found CA:${v.ca}, pathLen:${v.pathLen ?? "absent"}`;
                    if (type === "PAA" && (!v.ca || (v.pathLen !== undefined && v.pathLen !== 1))) return `basicConstraints must be CA:TRUE with pathLen absent or 1 for a PAA, found CA:${v.ca}, pathLen:${v.pathLen ?? "absent"}`;
                    break;
                }
                case OID.keyUsage: {
                    if (!e.critical) return "keyUsage is not critical";
                    ku = true;
                    const m = decodeKeyUsage(e);
                    if (type === "DAC") {
                        if (m !== KU.digitalSignature) return `keyUsage must be exactly digitalSignature for a DAC, found ${keyUsageNames(m).join(",") || "none"}`;
                    } else if (!(m & KU.keyCertSign) || !(m & KU.cRLSign) || (m & ~(KU.keyCertSign | KU.cRLSign | KU.digitalSignature))) {
                        return `keyUsage must be keyCertSign+cRLSign (digitalSignature optional) for a ${type}, found ${keyUsageNames(m).join(",") || "none"}`;
                    }
                    break;
                }
                case OID.subjectKeyIdentifier: {
                    if (e.critical) return "subjectKeyIdentifier must not be critical";
                    const k = decodeSkid(e);
                    if (k.length !== 20) return `subjectKeyIdentifier is ${k.length} bytes, must be 20`;
                    skid = true;
                    break;
                }
                case OID.authorityKeyIdentifier: {
                    if (e.critical) return "authorityKeyIdentifier must not be critical";
                    const k = akidOf(cert);
                    if (!k || k.length !== 20) return `authorityKeyIdentifier keyIdentifier is ${k ? `${k.length} bytes` : "absent"}, must be 20 bytes`;
                    akid = true;
                    break;
                }
            }
        } catch (err) {
            if (err instanceof DiagnosticError) return `extension ${e.oid} is malformed: ${err.message}`;
            throw err;
        }
    }
    if (!bc) return "basicConstraints extension is missing";
    if (!ku) return "keyUsage extension is missing";
    if (!skid) return "subjectKeyIdentifier extension is missing";
    if (type !== "PAA" && !akid) return "authorityKeyIdentifier extension is missing";
    return undefined;
}

function publicKeyProblem(cert: Certificate): string | undefined {
    if (cert.keyAlgorithmOid !== OID.ecPublicKey) return `public key algorithm is ${cert.keyAlgorithmOid}, must be id-ecPublicKey`;
    if (cert.curveOid !== OID.prime256v1) return `public key curve is ${cert.curveOid === OID.secp256k1 ? "secp256k1" : (cert.curveOid ?? "not a named curve")}, must be prime256v1 (P-256)`;
    if (cert.publicKey.length !== 65 || cert.publicKey[0] !== 4) return "public key is not an uncompressed P-256 point";
    try {
        publicKeyObject(cert.publicKey);
    } catch {
        return "public key is not a point on P-256";
    }
    return undefined;
}

// ------------------------------------------------------------------ VID/PID

const UPPER_HEX4 = /^[0-9A-F]{4}$/;

/** ExtractVIDPIDFromX509Cert. Throws a string (the problem) for a malformed Matter attribute. */
export function extractVidPid(cert: Certificate): VidPid {
    let vid: number | undefined, pid: number | undefined;
    let cnVid: number | undefined, cnPid: number | undefined;
    let cnDone = false;
    for (const a of cert.subject) {
        const isVid = a.oid === OID.matterVid, isPid = a.oid === OID.matterPid, isCn = a.oid === OID.commonName;
        if (!isVid && !isPid && !isCn) continue;
        if (a.bytes.length === 0) throw `subject ${a.type} is empty`;
        if (isVid || isPid) {
            const s = String.fromCharCode(...a.bytes);
            if (!UPPER_HEX4.test(s)) throw `subject ${isVid ? "VID" : "PID"} '${s}' is not exactly 4 upper-case hex digits`;
            if (isVid) {
                if (vid !== undefined) throw "subject carries more than one Matter VID attribute";
                vid = parseInt(s, 16);
            } else {
                if (pid !== undefined) throw "subject carries more than one Matter PID attribute";
                pid = parseInt(s, 16);
            }
        } else if (!cnDone) {
            // CHIP: the first 64 bytes of the CN; the first prefix followed by 4 upper-case hex digits wins; a
            // prefix seen only without valid digits is a malformed DN (CHIP_ERROR_WRONG_CERT_DN)
            const s = Buffer.from(a.bytes.subarray(0, 64)).toString("latin1");
            const grab = (prefix: string): number | undefined => {
                let seen = false;
                for (let i = s.indexOf(prefix); i >= 0; i = s.indexOf(prefix, i + 1)) {
                    seen = true;
                    const v = s.substr(i + prefix.length, 4);
                    if (UPPER_HEX4.test(v)) return parseInt(v, 16);
                }
                if (seen) throw `CN '${s}' has '${prefix}' not followed by 4 upper-case hex digits`;
                return undefined;
            };
            cnVid = grab("Mvid:");
            cnPid = grab("Mpid:");
            cnDone = cnVid !== undefined || cnPid !== undefined;
        }
    }
    if (vid !== undefined || pid !== undefined) return { vid, pid, source: "matter-oid" };
    if (cnVid !== undefined || cnPid !== undefined) return { vid: cnVid, pid: cnPid, source: "cn-fallback" };
    return { source: "none" };
}

// ------------------------------------------------------------------ chain

function canonName(n: NameAttribute[]): string {
    return n.map(a => `${a.oid}=${a.text !== undefined ? a.text.trim().replace(/\s+/g, " ").toLowerCase() : hex(a.bytes)}`).join("|");
}

/** ValidateCertificateChain (OpenSSL X509_verify_cert, X509_STRICT, time = DAC notBefore). */
export function chainProblem(paa: Certificate, pai: Certificate, dac: Certificate): string | undefined {
    const t = dac.notBefore.getTime();
    const iso = (d: Date) => d.toISOString().replace(".000Z", "Z");
    for (const [label, c] of [["DAC", dac], ["PAI", pai], ["PAA", paa]] as const) {
        if (c.notBefore.getTime() > t) return `${label} is not yet valid at the DAC's notBefore ${iso(dac.notBefore)} (${label} notBefore ${iso(c.notBefore)})`;
        if (c.notAfter.getTime() < t) return `${label} has expired at the DAC's notBefore ${iso(dac.notBefore)} (${label} notAfter ${iso(c.notAfter)})`;
        if (c.tbsSignatureOid !== c.signatureOid) return `${label} tbsCertificate.signature (${c.tbsSignatureOid}) differs from signatureAlgorithm (${c.signatureOid})`;
    }
    const links: Array<[string, Certificate, string, Certificate]> = [["DAC", dac, "PAI", pai], ["PAI", pai, "PAA", paa]];
    for (const [cl, child, il, issuer] of links) {
        if (canonName(child.issuer) !== canonName(issuer.subject)) return `${cl} issuer name does not match the ${il} subject`;
        const ak = akidOf(child), sk = skidOf(issuer);
        if (ak && sk && !equalBytes(ak, sk)) return `${cl} AKID ${hex(ak)} does not match the ${il} SKID ${hex(sk)}`;
        const bcExt = findExtension(issuer, OID.basicConstraints);
        if (!bcExt || !decodeBasicConstraints(bcExt).ca) return `${il} is not a CA (basicConstraints CA:TRUE required to issue the ${cl})`;
        const kuExt = findExtension(issuer, OID.keyUsage);
        if (kuExt && !(decodeKeyUsage(kuExt) & KU.keyCertSign)) return `${il} keyUsage lacks keyCertSign`;
        if (publicKeyProblem(issuer)) return `${il} public key: ${publicKeyProblem(issuer)}`;
        if (child.signatureOid !== OID.ecdsaWithSHA256) return `${cl} signature algorithm ${child.signatureOid} is not ecdsa-with-SHA256`;
        if (!verifySignature(publicKeyObject(issuer.publicKey), child.tbs, child.signature, "der")) return `${cl} signature does not verify with the ${il} public key`;
    }
    const paaBc = decodeBasicConstraints(findExtension(paa, OID.basicConstraints)!);
    if (paaBc.pathLen !== undefined && paaBc.pathLen < 1) return `PAA pathLen ${paaBc.pathLen} does not allow the PAI below it`;
    return undefined;
}

// ------------------------------------------------------------------ the verifier

function now(o: VerifyOptions): Date {
    return o.now === undefined ? new Date() : typeof o.now === "function" ? o.now() : o.now;
}

/**
 * Verifies device attestation information like DefaultDACVerifier. Never throws for bad input: every problem
 * becomes an AttestationVerificationResult.
 */
export function verifyAttestation(input: AttestationInput, trust: TrustStore, options: VerifyOptions = {}): AttestationReport {
    const report: Partial<AttestationReport> = {};
    try {
        const v = run(input, trust, options, report);
        return { ...report, ...v };
    } catch (e) {
        if (e instanceof Stop) return { ...report, ...e.v };
        return { ...report, ...verdict("InternalError", `unexpected failure: ${e instanceof Error ? e.message : String(e)}`) };
    }
}

function stop(name: Parameters<typeof verdict>[0], detail: string): never {
    throw new Stop(verdict(name, detail));
}

function parseOr(der: Uint8Array, name: "PaiFormatInvalid" | "DacFormatInvalid", label: string): Certificate {
    try {
        return parseCertificate(der);
    } catch (e) {
        if (e instanceof DiagnosticError) stop(name, `${label} is not a valid DER certificate: ${e.context.field ? `${e.context.field}: ` : ""}${e.message}${e.context.offset !== undefined ? ` (offset ${e.context.offset})` : ""}`);
        throw e;
    }
}

function run(input: AttestationInput, trust: TrustStore, options: VerifyOptions, report: Partial<AttestationReport>): AttestationVerdict {
    // 1. arguments
    const empty = (["attestationElements", "attestationChallenge", "signature", "dac", "nonce"] as const).filter(k => !input[k] || input[k].length === 0);
    if (empty.length) stop("InvalidArgument", `empty input: ${empty.join(", ")}`);
    if (input.attestationElements.length > 900) stop("InvalidArgument", `attestation elements are ${input.attestationElements.length} bytes, at most 900 (RESP_MAX)`);
    if (!input.pai || input.pai.length === 0) stop("PaiMissing", "no PAI certificate was provided");

    // 2. formats
    const pai = parseOr(input.pai, "PaiFormatInvalid", "PAI");
    const paiProblem = profileProblem(pai, "PAI");
    if (paiProblem) stop("PaiFormatInvalid", `PAI: ${paiProblem}`);
    const dac = parseOr(input.dac, "DacFormatInvalid", "DAC");
    const dacProblem = profileProblem(dac, "DAC");
    if (dacProblem) stop("DacFormatInvalid", `DAC: ${dacProblem}`);

    // 3. VID/PID
    let dacIds: VidPid, paiIds: VidPid;
    try {
        dacIds = extractVidPid(dac);
    } catch (p) {
        stop("DacFormatInvalid", `DAC ${String(p)}`);
    }
    try {
        paiIds = extractVidPid(pai);
    } catch (p) {
        stop("PaiFormatInvalid", `PAI ${String(p)}`);
    }
    report.dac = dacIds;
    report.pai = paiIds;
    if (paiIds.vid === undefined) stop("DacVendorIdMismatch", `PAI has no VID (neither the Matter VID attribute nor a valid 'Mvid:XXXX' in its CN); DAC VID ${x4(dacIds.vid)}`);
    if (paiIds.vid !== dacIds.vid) stop("DacVendorIdMismatch", `DAC VID ${x4(dacIds.vid)} ≠ PAI VID ${x4(paiIds.vid)}`);
    if (dacIds.pid === undefined) stop("DacProductIdMismatch", "DAC has no PID (neither the Matter PID attribute nor a valid 'Mpid:XXXX' in its CN)");
    if (paiIds.pid !== undefined && paiIds.pid !== dacIds.pid) stop("DacProductIdMismatch", `DAC PID ${x4(dacIds.pid)} ≠ PAI PID ${x4(paiIds.pid)}`);

    // 4. attestation signature
    if (!options.skipAttestationSignature && input.signature.length > 64) stop("AttestationSignatureInvalidFormat", `attestation signature is ${input.signature.length} bytes, a raw P-256 signature is 64 (r‖s)`);
    const dacKey = publicKeyObject(dac.publicKey);
    if (!options.skipAttestationSignature && (input.signature.length !== 64 || !verifySignature(dacKey, concat(input.attestationElements, input.attestationChallenge), input.signature, "ieee-p1363"))) {
        stop("AttestationSignatureInvalid", input.signature.length !== 64
            ? `attestation signature is ${input.signature.length} bytes, must be 64 (r‖s)`
            : "attestation signature over attestation_elements ‖ attestation_challenge does not verify with the DAC public key (wrong DAC key, elements or challenge)");
    }

    // 5. PAA
    const paiAkid = akidOf(pai);
    if (!paiAkid || paiAkid.length !== 20) stop("PaiFormatInvalid", "PAI has no 20-byte authorityKeyIdentifier");
    const paaEntry = findPaa(trust, paiAkid);
    if (!paaEntry) stop("PaaNotFound", `no PAA with SKID ${hex(paiAkid)} in trust store ${trust.paaSource} (${trust.paas.length} PAAs); PAI AKID is ${hex(paiAkid)}`);
    const paa = paaEntry.cert;
    let paaIds: VidPid;
    try {
        paaIds = extractVidPid(paa);
    } catch (p) {
        stop("PaaFormatInvalid", `PAA ${paaEntry.name}: ${String(p)}`);
    }
    report.paa = { name: paaEntry.name, vid: paaIds.vid, skid: hex(paiAkid) };
    if (paaIds.vid !== undefined && paaIds.vid !== paiIds.vid) stop("PaiVendorIdMismatch", `PAI VID ${x4(paiIds.vid)} ≠ PAA VID ${x4(paaIds.vid)} (PAA ${paaEntry.name})`);
    if (paaIds.pid !== undefined) stop("PaaFormatInvalid", `PAA ${paaEntry.name} carries a PID (${x4(paaIds.pid)}); a PAA must not`);
    const paaProblem = profileProblem(paa, "PAA");
    if (paaProblem) stop("PaaFormatInvalid", `PAA ${paaEntry.name}: ${paaProblem}`);

    // 6. DAC validity now
    const t = now(options);
    if (dac.notBefore.getTime() > t.getTime()) stop("DacExpired", `DAC is not yet valid: notBefore ${dac.notBefore.toISOString()} is after now ${t.toISOString()}`);
    if (dac.notAfter.getTime() <= t.getTime()) stop("DacExpired", `DAC expired: notAfter ${dac.notAfter.toISOString()} is before now ${t.toISOString()}`);

    // 7. chain at the DAC's notBefore
    const chain = chainProblem(paa, pai, dac);
    if (chain) stop("DacSignatureInvalid", `chain PAA→PAI→DAC does not validate: ${chain}`);

    // 8. PAA SKID, elements, nonce
    const paaSkid = skidOf(paa);
    if (!paaSkid || paaSkid.length !== 20) stop("PaaFormatInvalid", `PAA ${paaEntry.name} SKID is not 20 bytes`);
    let elements;
    try {
        elements = deconstructAttestationElements(input.attestationElements);
    } catch (e) {
        if (e instanceof DiagnosticError) stop("AttestationElementsMalformed", `attestation elements: ${e.context.field ? `${e.context.field}: ` : ""}${e.message}`);
        throw e;
    }
    if (!equalBytes(elements.nonce, input.nonce)) stop("AttestationNonceMismatch", `attestation_nonce ${hex(elements.nonce)} ≠ the nonce sent ${hex(input.nonce)}`);

    // CD signature
    let kid: Uint8Array;
    try {
        kid = extractCdSignerKeyId(elements.certificationDeclaration);
    } catch (e) {
        if (e instanceof DiagnosticError) stop("CertificationDeclarationNoKeyId", `CD signer key id not readable: ${e.context.field ? `${e.context.field}: ` : ""}${e.message}`);
        throw e;
    }
    const signer: CdSignerEntry | undefined = findCdSigner(trust, kid);
    if (!signer) stop("CertificationDeclarationNoCertificateFound", `no CD signing key with SKID ${hex(kid)} (built-in CSA keys 001–005, the test key, and ${trust.cdSigners.length - 6} signer certificate(s) from --cd-signers)`);
    if (signer.kind === "test" && !options.allowTestKeys) stop("CertificationDeclarationNoCertificateFound", `CD is signed by a test key (${signer.name}, SKID ${hex(kid)}); test CD signers are refused unless allowed (--allow-test-keys)`);
    let content: Uint8Array;
    try {
        content = verifyCms(elements.certificationDeclaration, publicKeyObject(signer.publicKey)).content;
    } catch (e) {
        if (e instanceof DiagnosticError) stop("CertificationDeclarationInvalidSignature", `CD CMS envelope does not verify with ${signer.name}: ${e.context.field ? `${e.context.field}: ` : ""}${e.message}`);
        throw e;
    }
    let cd: DecodedCertificationElements;
    try {
        cd = decodeCertificationElements(content);
    } catch (e) {
        if (e instanceof DiagnosticError) stop("CertificationDeclarationInvalidFormat", `CD content: ${e.context.field ? `${e.context.field}: ` : ""}${e.message}`);
        throw e;
    }
    report.cd = { ...cd, signer: signer.name, signerKind: signer.kind };
    const testAllowedForType = cd.certificationType === 0 || (cd.certificationType === 1 && options.allowTestKeyForProvisional !== false);
    if (signer.kind === "test" && !testAllowedForType) stop("CertificationDeclarationNoCertificateFound", `a ${cd.certificationType === 2 ? "official" : cd.certificationType === 1 ? "provisional" : `certification_type ${cd.certificationType}`} CD must not be signed by a test key (${signer.name})`);

    // CD content
    if (cd.formatVersion !== 1) stop("AttestationElementsMalformed", `CD format_version is ${cd.formatVersion}, must be 1`);
    if (cd.certificationType >= 3) stop("AttestationElementsMalformed", `CD certification_type is ${cd.certificationType}, must be 0 (development), 1 (provisional) or 2 (official)`);
    if (cd.vendorId !== input.vendorId) stop("CertificationDeclarationInvalidVendorId", `CD vendor_id ${x4(cd.vendorId)} ≠ Basic Information VendorID ${x4(input.vendorId)}`);
    const pids = (): string => `[${cd.productIds.slice(0, 12).map(x4).join(", ")}${cd.productIds.length > 12 ? ", …" : ""}]`;
    if (!cd.productIds.includes(input.productId)) stop("CertificationDeclarationInvalidProductId", `Basic Information ProductID ${x4(input.productId)} is not in CD product_id_array ${pids()}`);
    const paiPid = paiIds.pid ?? 0;
    if (cd.dacOriginVendorId !== undefined && cd.dacOriginProductId !== undefined) {
        if (dacIds.vid !== cd.dacOriginVendorId) stop("CertificationDeclarationInvalidVendorId", `DAC VID ${x4(dacIds.vid)} ≠ CD dac_origin_vendor_id ${x4(cd.dacOriginVendorId)}`);
        if (paiIds.vid !== cd.dacOriginVendorId) stop("CertificationDeclarationInvalidVendorId", `PAI VID ${x4(paiIds.vid)} ≠ CD dac_origin_vendor_id ${x4(cd.dacOriginVendorId)}`);
        if (dacIds.pid !== cd.dacOriginProductId) stop("CertificationDeclarationInvalidProductId", `DAC PID ${x4(dacIds.pid)} ≠ CD dac_origin_product_id ${x4(cd.dacOriginProductId)}`);
        if (paiPid !== 0 && paiPid !== cd.dacOriginProductId) stop("CertificationDeclarationInvalidProductId", `PAI PID ${x4(paiPid)} ≠ CD dac_origin_product_id ${x4(cd.dacOriginProductId)}`);
    } else {
        if (dacIds.vid !== cd.vendorId) stop("CertificationDeclarationInvalidVendorId", `DAC VID ${x4(dacIds.vid)} ≠ CD vendor_id ${x4(cd.vendorId)} (no dac_origin_vendor_id)`);
        if (paiIds.vid !== cd.vendorId) stop("CertificationDeclarationInvalidVendorId", `PAI VID ${x4(paiIds.vid)} ≠ CD vendor_id ${x4(cd.vendorId)} (no dac_origin_vendor_id)`);
        if (!cd.productIds.includes(dacIds.pid!)) stop("CertificationDeclarationInvalidProductId", `DAC PID ${x4(dacIds.pid)} is not in CD product_id_array ${pids()}`);
        if (paiPid !== 0 && !cd.productIds.includes(paiPid)) stop("CertificationDeclarationInvalidProductId", `PAI PID ${x4(paiPid)} is not in CD product_id_array ${pids()}`);
    }
    if (cd.authorizedPaaList !== undefined && !cd.authorizedPaaList.some(s => equalBytes(s, paaSkid))) {
        stop("CertificationDeclarationInvalidPAA", `PAA SKID ${hex(paaSkid)} is not in CD authorized_paa_list (${cd.authorizedPaaList.length} entries${cd.authorizedPaaList.length ? `: ${cd.authorizedPaaList.map(s => hex(s).slice(0, 8) + "…").join(", ")}` : ""})`);
    }
    return verdict("Success", `DAC VID ${x4(dacIds.vid)} PID ${x4(dacIds.pid)} chains to PAA ${paaEntry.name}; CD ${cd.certificateId} (type ${cd.certificationType}) signed by ${signer.name}`);
}
