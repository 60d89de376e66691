/** Public types of the strict commissioner (the "phone app"). */

/** What our attestation verifier gets: everything the commissionee sent in step 10, plus what was asked. */
export interface AttestationInput {
    dacCert: Uint8Array;
    paiCert: Uint8Array;
    attestationElements: Uint8Array;
    /** The PASE session's attestation challenge. */
    attestationChallenge: Uint8Array;
    attestationSignature: Uint8Array;
    attestationNonce: Uint8Array;
    /** Basic Information VendorID / ProductID read over PASE before the check. */
    vendorId: number;
    productId: number;
    /** The certification_declaration element of attestationElements. */
    certificationDeclaration: Uint8Array;
}

/** connectedhomeip's AttestationVerificationResult: `result` is the name without the `k`, "Success" passes. */
export interface AttestationOutcome {
    result: string;
    code: number;
    detail: string;
}

export type AttestationHook = (input: AttestationInput) => Promise<AttestationOutcome>;

export type CommissionStepName = "pase" | "attestation" | "noc" | "case" | "basic-information";

export interface CommissionStep {
    name: CommissionStepName;
    status: "ok" | "failed" | "skipped";
    detail: string;
    ms: number;
}

export interface BasicInformationSnapshot {
    dataModelRevision?: number;
    vendorName?: string;
    vendorId?: number;
    productName?: string;
    productId?: number;
    nodeLabel?: string;
    location?: string;
    hardwareVersion?: number;
    hardwareVersionString?: string;
    softwareVersion?: number;
    softwareVersionString?: string;
    manufacturingDate?: string;
    partNumber?: string;
    productUrl?: string;
    productLabel?: string;
    serialNumber?: string;
    uniqueId?: string;
    productAppearance?: { finish: number; primaryColor: number | null };
}

export interface CommissionResult {
    ok: boolean;
    /** The first step that failed. */
    failedStep?: CommissionStepName;
    /** A name to grep for: an AttestationVerificationResult name, "PaseKeyConfirmationFailed", a matter.js finding… */
    error?: string;
    /** Human-readable message of the failure. */
    message?: string;
    steps: CommissionStep[];
    basicInformation?: BasicInformationSnapshot;
    /** Operational node id assigned (bigint as decimal string is in nodeIdHex too). */
    nodeId?: bigint;
    nodeIdHex?: string;
    /** matter.js attestation findings accepted as "covered by the AttestationHook" (informational). */
    acceptedFindings?: string[];
    /** Whether the NOC was installed on the device (AddNOC succeeded). */
    nocIssued: boolean;
    totalMs: number;
}
