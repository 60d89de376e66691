/**
 * Attestation elements (core spec §11.17.5.4, CHIP's DeviceAttestationConstructor): an anonymous TLV structure
 * { 1: certification_declaration, 2: attestation_nonce (32 B), 3: timestamp (u32), 4: firmware_information? }
 * followed by vendor-reserved profile-tagged elements; the device signs elements ‖ attestation_challenge with
 * its DAC key (ECDSA P-256 / SHA-256, raw r‖s).
 */
import { randomBytes } from "node:crypto";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { type P256Key, signRaw } from "./keys.js";
import { TlvWriter, type TlvElement, decodeTlv, getBytes, getUint } from "./tlv.js";
import { concat } from "./der.js";

export const ATTESTATION_NONCE_LENGTH = 32;

export interface AttestationElements {
    certificationDeclaration: Uint8Array;
    nonce: Uint8Array;
    timestamp: number;
    firmwareInformation?: Uint8Array;
    /** Vendor-reserved elements (profile-tagged), raw values. */
    vendorReserved: Array<{ profile: number | undefined; tag: number; value: unknown }>;
}

export class AttestationElementsError extends DiagnosticError {
    override name = "AttestationElementsError";
}

export function buildAttestationElements(e: { certificationDeclaration: Uint8Array; nonce: Uint8Array; timestamp?: number; firmwareInformation?: Uint8Array }): Uint8Array {
    if (e.nonce.length !== ATTESTATION_NONCE_LENGTH) {
        throw new AttestationElementsError("CHIP_ERROR_INVALID_ARGUMENT", `attestation nonce must be 32 bytes, got ${e.nonce.length}`, { field: "attestation_nonce" });
    }
    const w = new TlvWriter().startStruct().bytes(1, e.certificationDeclaration).bytes(2, e.nonce).uint(3, e.timestamp ?? 0);
    if (e.firmwareInformation) w.bytes(4, e.firmwareInformation);
    return w.end().toBytes();
}

/** CHIP's DeconstructAttestationElements: context tags 1,2,3[,4] in order, then vendor-reserved profile tags. */
export function deconstructAttestationElements(buf: Uint8Array): AttestationElements {
    const fail = (m: string, field: string, offset?: number): never => {
        throw new AttestationElementsError("CHIP_ERROR_INVALID_TLV_ELEMENT", m, { field, offset });
    };
    let top: TlvElement;
    try {
        top = decodeTlv(buf, "attestation_elements");
    } catch (e) {
        if (e instanceof DiagnosticError) throw new AttestationElementsError(e.code, e.message, e.context);
        throw e;
    }
    if (top.tag.kind !== "anonymous" || top.type !== "struct") fail("attestation elements must be an anonymous structure", "attestation_elements", 0);
    const els = top.value as TlvElement[];
    const out: Partial<AttestationElements> & { vendorReserved: AttestationElements["vendorReserved"] } = { vendorReserved: [] };
    let last = -1;
    const order: Record<number, number> = { 1: -1, 2: 1, 3: 2, 4: 3 };
    try {
        for (const el of els) {
            if (el.tag.kind === "context") {
                const n = el.tag.num;
                if (!(n in order) || order[n] !== last || out.vendorReserved.length) fail(`unexpected context tag ${n} after tag ${last}`, "attestation_elements", el.offset);
                if (n === 1) out.certificationDeclaration = getBytes(el, "certification_declaration");
                if (n === 2) out.nonce = getBytes(el, "attestation_nonce");
                if (n === 3) out.timestamp = getUint(el, 0xffffffff, "timestamp");
                if (n === 4) out.firmwareInformation = getBytes(el, "firmware_information");
                last = n;
            } else if (el.tag.kind === "profile") {
                out.vendorReserved.push({ profile: el.tag.profile, tag: el.tag.num, value: el.value });
            } else fail("anonymous element inside attestation elements", "attestation_elements", el.offset);
        }
    } catch (e) {
        if (e instanceof AttestationElementsError) throw e;
        if (e instanceof DiagnosticError) throw new AttestationElementsError(e.code, e.message, e.context);
        throw e;
    }
    if (out.certificationDeclaration === undefined) fail("certification_declaration (tag 1) missing", "certification_declaration");
    if (out.nonce === undefined) fail("attestation_nonce (tag 2) missing", "attestation_nonce");
    if (out.timestamp === undefined) fail("timestamp (tag 3) missing", "timestamp");
    if (out.nonce!.length !== ATTESTATION_NONCE_LENGTH) fail(`attestation_nonce must be 32 bytes, got ${out.nonce!.length}`, "attestation_nonce");
    return out as AttestationElements;
}

/** Signs elements ‖ challenge with the DAC key: 64-byte raw signature. */
export function signAttestation(elements: Uint8Array, challenge: Uint8Array, dacKey: P256Key, deterministic = false): Uint8Array {
    return signRaw(dacKey, concat(elements, challenge), deterministic);
}

export interface AttestationResponse {
    attestationElements: Uint8Array;
    signature: Uint8Array;
    nonce: Uint8Array;
    attestationChallenge: Uint8Array;
}

/** What a device answers to AttestationRequest: elements (CD + nonce + timestamp) and their signature. */
export function createAttestationResponse(o: { certificationDeclaration: Uint8Array; dacKey: P256Key; nonce?: Uint8Array; attestationChallenge?: Uint8Array; timestamp?: number; firmwareInformation?: Uint8Array }): AttestationResponse {
    const nonce = o.nonce ?? new Uint8Array(randomBytes(ATTESTATION_NONCE_LENGTH));
    const attestationChallenge = o.attestationChallenge ?? new Uint8Array(randomBytes(16));
    const attestationElements = buildAttestationElements({ certificationDeclaration: o.certificationDeclaration, nonce, timestamp: o.timestamp ?? 0, firmwareInformation: o.firmwareInformation });
    return { attestationElements, signature: signAttestation(attestationElements, attestationChallenge, o.dacKey), nonce, attestationChallenge };
}
