import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describeWithVectors, vectorPath } from "../../emulator/testing/vectors.js";
import { createAttestationResponse } from "./attestation.js";
import { loadPrivateKey, pemBlocks } from "./keys.js";
import { ATTESTATION_RESULTS } from "./results.js";
import { BUILTIN_CD_SIGNERS, type TrustStore, cdSignerFromCertificate, makeTrustStore, paaEntry } from "./trust.js";
import { verifyAttestation } from "./verify.js";

/** The SDK treats these as PASS: they need the DCL, which a commissioner without it cannot check. */
const DCL_ONLY = new Set(["struct_cd_cert_id_mismatch", "struct_cd_device_type_id_mismatch", "struct_cd_security_info_wrong", "struct_cd_security_level_wrong", "struct_cd_version_number_wrong"]);

/** Result names the case name makes unambiguous. */
const EXPECTED: Record<string, keyof typeof ATTESTATION_RESULTS> = {
    invalid_paa: "PaaNotFound",
    struct_cd_authorized_paa_list_count0: "CertificationDeclarationInvalidPAA",
    struct_cd_authorized_paa_list_count3_invalid: "CertificationDeclarationInvalidPAA",
    struct_cd_cms_signature: "CertificationDeclarationInvalidSignature",
    struct_cd_signer_info_v2: "CertificationDeclarationNoKeyId",
    struct_cd_signer_info_digest_algo_sha1: "CertificationDeclarationNoKeyId",
    struct_cd_format_version_2: "AttestationElementsMalformed",
    struct_cd_pid_array_count0: "CertificationDeclarationInvalidProductId",
    struct_cd_pid_array_count10_mismatch: "CertificationDeclarationInvalidProductId",
    struct_cd_pid_array_count100_mismatch: "CertificationDeclarationInvalidProductId",
    struct_cd_vid_missing: "CertificationDeclarationInvalidFormat",
    struct_cd_cert_id_missing: "CertificationDeclarationInvalidFormat",
    struct_cd_security_info_missing: "CertificationDeclarationInvalidFormat",
    struct_cd_version_number_missing: "CertificationDeclarationInvalidFormat",
    struct_dac_subject_vid_mismatch: "DacVendorIdMismatch",
    struct_dac_valid_in_past: "DacExpired",
    struct_dac_cert_version_v2: "DacFormatInvalid",
    struct_pai_sig_curve_secp256k1: "PaiFormatInvalid",
    struct_dac_sig_curve_secp256k1: "DacFormatInvalid",
    struct_pai_sig_algo_ecdsa_with_sha1: "PaiFormatInvalid",
};

describeWithVectors("commissioner_dut vectors (connectedhomeip's expectations)", "attestation/commissioner_dut", dir => {
    let trust: TrustStore;
    before(() => {
        const paaDir = vectorPath("attestation", "paa-store")!;
        const paas = readdirSync(paaDir).filter(f => f.endsWith(".der")).map(f => paaEntry(readFileSync(join(paaDir, f)), f));
        const signerPem = readFileSync(vectorPath("attestation", "cd-signing", "Chip-Test-CD-Signing-Cert.pem")!, "utf8");
        trust = makeTrustStore({ paas, paaSource: paaDir, cdSigners: [cdSignerFromCertificate(pemBlocks(signerPem)[0]!.der, "Chip-Test-CD-Signing-Cert.pem")] });
    });
    const cases = readdirSync(dir).filter(c => c !== "struct_dac_sig_curve_secp256k1_skipped").sort();
    it(`has the cases (${cases.length})`, () => expect(cases.length).to.be.greaterThan(90));
    for (const name of cases) {
        it(name, () => {
            const d = join(dir, name);
            const j = JSON.parse(readFileSync(join(d, "test_case_vector.json"), "utf8")) as { is_success_case: string | boolean; basic_info_pid: number; dac_private_key: string };
            const key = loadPrivateKey(new Uint8Array(Buffer.from(j.dac_private_key, "hex")));
            const r = createAttestationResponse({ certificationDeclaration: readFileSync(join(d, "cd.der")), dacKey: key, timestamp: 0 });
            const v = verifyAttestation({
                dac: readFileSync(join(d, "dac-Cert.der")), pai: readFileSync(join(d, "pai-Cert.der")),
                attestationElements: r.attestationElements, attestationChallenge: r.attestationChallenge, signature: r.signature, nonce: r.nonce,
                vendorId: 0xfff1, productId: j.basic_info_pid,
            }, trust, { allowTestKeys: true });
            const success = String(j.is_success_case) === "true" || DCL_ONLY.has(name);
            expect(v.result === "Success", v.detail).to.equal(success);
            if (name === "struct_dac_sig_curve_secp256k1") expect(v.result).to.not.equal("Success");
            if (EXPECTED[name]) expect(v.result, v.detail).to.equal(EXPECTED[name]);
            expect(v.code).to.equal(ATTESTATION_RESULTS[v.result]);
        });
    }
});

describeWithVectors("CD signer keys", "attestation/csa-cd-certs", dir => {
    it("the CSA certificates in the vectors are the official keys built in (same SKID and key), chaining to the CSA root", () => {
        for (let i = 1; i <= 5; i++) {
            const s = cdSignerFromCertificate(readFileSync(join(dir, `CSA_Matter_CD_Signing_Key_00${i}.cert.der`)), `00${i}`);
            expect(s.kind).to.equal("official");
            const b = BUILTIN_CD_SIGNERS.find(x => x.name.endsWith(`00${i}`))!;
            expect(Buffer.from(s.skid).equals(b.skid)).to.equal(true);
            expect(Buffer.from(s.publicKey).equals(b.publicKey)).to.equal(true);
        }
        const test = cdSignerFromCertificate(readFileSync(join(dir, "Chip-Test-CD-Cert.der")), "test");
        expect(test.kind).to.equal("test");
    });
});
