/**
 * A throwaway test PKI (PAA, PAI, CD signer, CD) for demos and tests that must not depend on the vectors
 * folder. The CD signer is self-signed, so the verifier treats it as a test key (allowTestKeys needed).
 * With `seed`, keys, serials and signatures are reproducible.
 */
import { createCertificationDeclaration, type CertificationElements } from "./cd.js";
import { type IssuedCertificate, issueCertificate, issueDac, issuePaa, issuePai } from "./issue.js";
import { SeededRng } from "./keys.js";
import { type CdSignerEntry, type PaaEntry, type TrustStore, makeTrustStore, paaEntry } from "./trust.js";
import { skidOf } from "./x509.js";

export interface TestPki {
    vid: number;
    pid: number;
    paa: IssuedCertificate;
    pai: IssuedCertificate;
    cdSigner: IssuedCertificate;
    /** Signed CD (CMS DER). */
    cd: Uint8Array;
    cdContent: CertificationElements;
    /** Issues a DAC under the PAI (deterministic when the PKI has a seed). */
    issueDac(o?: { pid?: number; notBefore?: Date; notAfter?: Date; commonName?: string }): IssuedCertificate;
    /** A trust store holding the PAA and the CD signer (allowTestKeys still needed for the CD). */
    trustStore(): TrustStore;
}

const FIXED_NOT_BEFORE = new Date(Date.UTC(2024, 0, 1));

export function createTestPki(o: { vid: number; pid: number; seed?: string; paaWithVid?: boolean; paiWithPid?: boolean; certificationType?: number }): TestPki {
    const rng = o.seed !== undefined ? new SeededRng(o.seed) : undefined;
    const notBefore = rng ? FIXED_NOT_BEFORE : new Date(Date.now() - 3600_000);
    const paa = issuePaa({ vid: o.paaWithVid === false ? undefined : o.vid, rng, notBefore, commonName: "mfgsim Test PAA" });
    const pai = issuePai({ vid: o.vid, pid: o.paiWithPid ? o.pid : undefined, issuer: paa, rng, notBefore, commonName: "mfgsim Test PAI" });
    const cdSigner = issueCertificate({ kind: "PAA", rng, notBefore, commonName: "mfgsim Test CD Signing Authority", overrides: { subject: [["2.5.4.3", "mfgsim Test CD Signing Authority"]] } });
    const cdContent: CertificationElements = {
        formatVersion: 1, vendorId: o.vid, productIds: [o.pid], deviceTypeId: 0x0100, certificateId: "ZIG20141ZB330001-24",
        securityLevel: 0, securityInformation: 0, versionNumber: 0x2694, certificationType: o.certificationType ?? 0,
    };
    const cd = createCertificationDeclaration(cdContent, { key: cdSigner.key, skid: skidOf(cdSigner.cert)! }, rng !== undefined);
    let n = 0;
    return {
        vid: o.vid, pid: o.pid, paa, pai, cdSigner, cd, cdContent,
        issueDac: (d = {}) => issueDac({
            vid: o.vid, pid: d.pid ?? o.pid, issuer: pai, notBefore: d.notBefore ?? notBefore, notAfter: d.notAfter,
            commonName: d.commonName ?? `mfgsim Test DAC ${n++}`, rng,
        }),
        trustStore: () => {
            const signer: CdSignerEntry = { skid: skidOf(cdSigner.cert)!, publicKey: cdSigner.key.publicKey, name: "mfgsim Test CD Signing Authority", kind: "test" };
            const paas: PaaEntry[] = [paaEntry(paa.der, "mfgsim Test PAA")];
            return makeTrustStore({ paas, paaSource: "(createTestPki)", cdSigners: [signer] });
        },
    };
}
