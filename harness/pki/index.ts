/** harness/pki: Matter attestation PKI — issuing, Certification Declarations, and the strict verifier. */
export { ATTESTATION_RESULTS, type AttestationResultName, type AttestationVerdict, describeVerdict, resultName } from "./results.js";
export { type P256Key, SeededRng, generateKey, keyFromScalar, loadPrivateKey, pem, pemBlocks, pkcs8Der, sec1Der, signRaw, spkiFromPoint } from "./keys.js";
export { type CertKind, type IssueOptions, type IssuedCertificate, NO_EXPIRY, issueCertificate, issueDac, issuePaa, issuePai, keyIdentifier } from "./issue.js";
export { type Certificate, OID, akidOf, formatName, parseCertificate, skidOf } from "./x509.js";
export {
    type CertificationElements, type DecodedCertificationElements, createCertificationDeclaration, decodeCertificationElements,
    encodeCertificationElements, parseCertificationDeclaration, parseCms, signCertificationDeclaration,
} from "./cd.js";
export { type AttestationResponse, buildAttestationElements, createAttestationResponse, deconstructAttestationElements, signAttestation } from "./attestation.js";
export { type AttestationInput, type AttestationReport, type VerifyOptions, extractVidPid, profileProblem, verifyAttestation } from "./verify.js";
export { BUILTIN_CD_SIGNERS, type CdSignerEntry, type TrustStore, cdSignerFromCertificate, makeTrustStore, paaEntry } from "./trust.js";
export { createTestPki, type TestPki } from "./testpki.js";
