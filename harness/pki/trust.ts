/**
 * Trust anchors for the verifier: a PAA store (certificates looked up by SKID = PAI's AKID) and CD-signing
 * keys. Built in, like connectedhomeip's CsaCdKeysTrustStore: the test CD signing key (SKID 62FA8233…, from
 * credentials/test/certification-declaration) and the CSA "Certification Declaration Signing Key 001–005",
 * which chain to the CSA "Matter Certification and Testing CA". Extra signer certificates are accepted as
 * "official" only when their signature chains to that CA root; anything else (the test key, throwaway
 * signers from createTestPki) is a test signer, accepted only with allowTestKeys. Pure: no I/O here
 * (see trust-dir.ts for loading directories).
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { equalBytes, hex } from "./der.js";
import { publicKeyObject, verifySignature } from "./keys.js";
import { type Certificate, OID, parseCertificate, skidOf } from "./x509.js";

const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));

export const TEST_CD_SIGNER_KID = h("62FA823359ACFAA9963E1CFA140ADDF504F37160");
export const CSA_CD_ROOT_PUBLIC_KEY = h("04384a3ac3aa5dbecb720fe6211d3cad48626ff711a0a4929fadd860f8e277ffc0de1f3eb6337a34847b5a3a056ea8710e9377eeedee251703fdd9350125cb8e48");
export const CSA_CD_ROOT_KID = h("97E469D0C50414C26FC701F77E947739098DF6A5");

export type CdSignerKind = "test" | "official";

export interface CdSignerEntry {
    skid: Uint8Array;
    /** 65-byte uncompressed point. */
    publicKey: Uint8Array;
    name: string;
    kind: CdSignerKind;
}

export const BUILTIN_CD_SIGNERS: readonly CdSignerEntry[] = [
    { name: "Matter Test CD Signing Authority (connectedhomeip test key)", kind: "test", skid: TEST_CD_SIGNER_KID, publicKey: h("043c398922452b55caf389c25bd1bca4656952ccb90e8869249ad8474653014cbf95d687965e036b521c51037e6b8cedefca1eb44046694fa08882eed6519decba") },
    { name: "CSA Certification Declaration Signing Key 001", kind: "official", skid: h("FE343F959947763B61EE4539131338494FE67D8E"), publicKey: h("04cdeee93e44f8b72be3d1a9c07e21968b9afff3b403f05e1669d7b1e5caee6fc7714b42e7e23695e92cd7635473a280ae688f37bb9489e11629b9b94ff7b09929") },
    { name: "CSA Certification Declaration Signing Key 002", kind: "official", skid: h("DD04DB585B214C1C581587E6568DF487B6DDC701"), publicKey: h("04031937e8f94251045df27457bb46253ee3754e8c12ae28557d8027b9d4c356d91b408cff32275017b25f8c8ba20516d5c83af2b724128013dfcc8f95d200a90b") },
    { name: "CSA Certification Declaration Signing Key 003", kind: "official", skid: h("471035E7C04EAAA8BE7C4D4C13E3E4C20995A84B"), publicKey: h("049f575cd5fdb7521f10a4df31f073912b614728f2d37f5b6b96bc2cbf7c0b119690577d555d21a09660a8b082a339ea530f7a812d8693b56fd764185fabcd32f5") },
    { name: "CSA Certification Declaration Signing Key 004", kind: "official", skid: h("F68603A3692E981072419EA1E1AB3854BD7795D3"), publicKey: h("047cfc8d8810a89cf4fa191778f2afec78f8517a97a3e57fc213bad888e3611e74ffb684bdeba8a68b25234a5c358f373bab9b6d304e1306dd7620a528d1161c0b") },
    { name: "CSA Certification Declaration Signing Key 005", kind: "official", skid: h("637F2634AD62EAFE6AF662EFB96F6FD2FCBFFC2F"), publicKey: h("04438a52c662a2a6d72647f95eb753136ee4ae0fdb3aa9c16931426b3d0867f9103ae7d7a1b887e9f813a6f26f76bbcda93593787c12778ca8f2975dc45a2042f9") },
];

export interface PaaEntry {
    der: Uint8Array;
    cert: Certificate;
    skid: Uint8Array | undefined;
    /** File name or label, for diagnostics. */
    name: string;
}

export interface TrustStore {
    paas: PaaEntry[];
    /** Where the PAAs came from (a directory), for diagnostics. */
    paaSource: string;
    cdSigners: CdSignerEntry[];
    /** Files that were skipped when loading, with the reason. */
    skipped?: Array<{ file: string; reason: string }>;
}

/** A PAA entry from DER. Throws a DiagnosticError when the DER is not a certificate. */
export function paaEntry(der: Uint8Array, name: string): PaaEntry {
    const cert = parseCertificate(der);
    let skid: Uint8Array | undefined;
    try {
        skid = skidOf(cert);
    } catch {
        skid = undefined;
    }
    return { der, cert, skid, name };
}

/** Whether `cert` is signed by the CSA CD root (the official CD-signer chain). */
export function chainsToCsaCdRoot(cert: Certificate): boolean {
    if (cert.signatureOid !== OID.ecdsaWithSHA256) return false;
    return verifySignature(publicKeyObject(CSA_CD_ROOT_PUBLIC_KEY), cert.tbs, cert.signature, "der");
}

/** A CD-signer entry from its certificate: test (the SDK test KID or not chaining to the CSA root) or official. */
export function cdSignerFromCertificate(der: Uint8Array, name: string): CdSignerEntry {
    const cert = parseCertificate(der);
    const skid = skidOf(cert);
    if (!skid || skid.length === 0) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "CD signer certificate has no subjectKeyIdentifier", { file: name, field: "subjectKeyIdentifier" });
    if (cert.curveOid !== OID.prime256v1 || cert.publicKey.length !== 65) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "CD signer key is not P-256", { file: name, field: "subjectPublicKeyInfo" });
    publicKeyObject(cert.publicKey);
    const official = !equalBytes(skid, TEST_CD_SIGNER_KID) && chainsToCsaCdRoot(cert);
    return { skid, publicKey: cert.publicKey, name, kind: official ? "official" : "test" };
}

/** Builds a trust store; the built-in CD signers always come first (lookup order of the SDK). */
export function makeTrustStore(o: { paas?: PaaEntry[]; paaSource?: string; cdSigners?: CdSignerEntry[]; skipped?: TrustStore["skipped"] }): TrustStore {
    return { paas: o.paas ?? [], paaSource: o.paaSource ?? "(in-memory trust store)", cdSigners: [...BUILTIN_CD_SIGNERS, ...(o.cdSigners ?? [])], skipped: o.skipped };
}

export function findPaa(store: TrustStore, akid: Uint8Array): PaaEntry | undefined {
    return store.paas.find(p => p.skid !== undefined && equalBytes(p.skid, akid));
}

export function findCdSigner(store: TrustStore, kid: Uint8Array): CdSignerEntry | undefined {
    return store.cdSigners.find(s => equalBytes(s.skid, kid));
}

export { hex };
