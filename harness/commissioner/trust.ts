/**
 * An offline trust store for matter.js's own attestation checks (DeviceAttestationValidator's DCL-dependent part:
 * PAA lookup, PAI→PAA and DAC→PAI signatures, CD signature). It duck-types matter.js's DclCertificateService
 * (getCertificate, getCertificateAsDer, isRevoked, getOrFetchCdSigner, acceptsTestCertificates) and never touches
 * the network. Our strict verifier (the AttestationHook) stays the authority; this only lets matter.js check more.
 */
import { Pai } from "@matter/main/protocol";
import { DiagnosticError } from "../../emulator/esp_common/err.js";

const hex = (b: Uint8Array | string) => (typeof b === "string" ? b : Buffer.from(b).toString("hex")).toLowerCase().replace(/[^0-9a-f]/g, "");

export interface OfflineTrustStoreOptions {
    /** PAA certificates (DER). */
    paas?: Uint8Array[];
    /** CD signer public keys (65-byte uncompressed) by subject key id. */
    cdSigners?: { subjectKeyId: Uint8Array; publicKey: Uint8Array }[];
    /** Whether PAAs here count as test PAAs that are accepted (default true: they are throwaway/test roots). */
    acceptTestCertificates?: boolean;
    /** Revoked (issuer AKID, serial number) pairs. */
    revoked?: { authorityKeyId: Uint8Array; serialNumber: Uint8Array }[];
}

export class OfflineTrustStore {
    readonly #paas = new Map<string, Uint8Array>();
    readonly #cdSigners = new Map<string, Uint8Array>();
    readonly #revoked = new Set<string>();
    readonly acceptsTestCertificates: boolean;

    constructor(options: OfflineTrustStoreOptions = {}) {
        this.acceptsTestCertificates = options.acceptTestCertificates ?? true;
        for (const der of options.paas ?? []) this.addPaa(der);
        for (const s of options.cdSigners ?? []) this.#cdSigners.set(hex(s.subjectKeyId), Uint8Array.from(s.publicKey));
        for (const r of options.revoked ?? []) this.#revoked.add(`${hex(r.authorityKeyId)}/${hex(r.serialNumber)}`);
    }

    addPaa(der: Uint8Array): void {
        let skid: Uint8Array;
        try {
            // Paa and Pai share the X.509 profile parser; Pai.fromAsn1 accepts any CA certificate with a SKID.
            skid = Pai.fromAsn1(der).cert.extensions.subjectKeyIdentifier as Uint8Array;
        } catch (e) {
            throw new DiagnosticError("CHIP_ERROR_UNSUPPORTED_CERT_FORMAT", `PAA is not a DER certificate: ${(e as Error).message}`, { field: "paa" });
        }
        this.#paas.set(hex(skid), Uint8Array.from(der));
    }

    getCertificate(subjectKeyId: Uint8Array | string) {
        return this.#paas.has(hex(subjectKeyId)) ? { isProduction: false, fetchedAt: undefined } : undefined;
    }

    async getCertificateAsDer(subjectKeyId: Uint8Array | string) {
        const der = this.#paas.get(hex(subjectKeyId));
        if (der === undefined) throw new DiagnosticError("PaaNotFound", `no PAA with SKID ${hex(subjectKeyId)}`);
        return der;
    }

    async isRevoked(authorityKeyIdentifier: Uint8Array | string, serialNumber: Uint8Array | string) {
        return this.#revoked.has(`${hex(authorityKeyIdentifier)}/${hex(serialNumber)}`);
    }

    async getOrFetchCdSigner(subjectKeyId: Uint8Array | string) {
        const publicKey = this.#cdSigners.get(hex(subjectKeyId));
        return publicKey === undefined ? undefined : { publicKey, isProduction: false };
    }

    /** matter.js's construction protocol (DclCertificateService is an async-constructed service). */
    readonly construction = { assert() {}, ready: Promise.resolve() };
    async close() {}
}
