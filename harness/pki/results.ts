/** connectedhomeip's AttestationVerificationResult (src/credentials/attestation_verifier/DeviceAttestationVerifier.h). */
export const ATTESTATION_RESULTS = {
    Success: 0,
    PaaUntrusted: 100,
    PaaNotFound: 101,
    PaaExpired: 102,
    PaaSignatureInvalid: 103,
    PaaRevoked: 104,
    PaaFormatInvalid: 105,
    PaaArgumentInvalid: 106,
    PaiExpired: 200,
    PaiSignatureInvalid: 201,
    PaiRevoked: 202,
    PaiFormatInvalid: 203,
    PaiArgumentInvalid: 204,
    PaiVendorIdMismatch: 205,
    PaiAuthorityNotFound: 206,
    PaiMissing: 207,
    PaiAndDacRevoked: 208,
    DacExpired: 300,
    DacSignatureInvalid: 301,
    DacRevoked: 302,
    DacFormatInvalid: 303,
    DacArgumentInvalid: 304,
    DacVendorIdMismatch: 305,
    DacProductIdMismatch: 306,
    DacAuthorityNotFound: 307,
    FirmwareInformationMismatch: 400,
    FirmwareInformationMissing: 401,
    AttestationSignatureInvalid: 500,
    AttestationElementsMalformed: 501,
    AttestationNonceMismatch: 502,
    AttestationSignatureInvalidFormat: 503,
    CertificationDeclarationNoKeyId: 600,
    CertificationDeclarationNoCertificateFound: 601,
    CertificationDeclarationInvalidSignature: 602,
    CertificationDeclarationInvalidFormat: 603,
    CertificationDeclarationInvalidVendorId: 604,
    CertificationDeclarationInvalidProductId: 605,
    CertificationDeclarationInvalidPAA: 606,
    NoMemory: 700,
    InvalidArgument: 701,
    InternalError: 702,
    NotImplemented: 703,
} as const;

export type AttestationResultName = keyof typeof ATTESTATION_RESULTS;

export interface AttestationVerdict {
    result: AttestationResultName;
    code: number;
    /** What failed, where, expected vs found. "ok" details for Success. */
    detail: string;
}

export function verdict(result: AttestationResultName, detail: string): AttestationVerdict {
    return { result, code: ATTESTATION_RESULTS[result], detail: result === "Success" ? detail : `${result}: ${detail}` };
}

/** "Name (code): reason" for a console or a check detail (the verdict's own detail already starts with the name). */
export function describeVerdict(v: { result: string; code: number; detail: string }): string {
    const reason = v.detail.startsWith(`${v.result}: `) ? v.detail.slice(v.result.length + 2) : v.detail;
    return `${v.result} (${v.code}): ${reason}`;
}

export function resultName(code: number): AttestationResultName | undefined {
    return (Object.keys(ATTESTATION_RESULTS) as AttestationResultName[]).find(k => ATTESTATION_RESULTS[k] === code);
}
