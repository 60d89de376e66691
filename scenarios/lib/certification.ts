/**
 * Certification pre-testing: the device-side expectations of the TC-DA-1.x test cases (device attestation),
 * checked against what the virtual device actually sends a commissioner — the CertificateChainRequest answers
 * (DAC, PAI), the AttestationResponse (elements, signature) — and against its factory data and Basic
 * Information. The result is a checklist: one named item per expectation, pass / fail / skip with the reason.
 */
import { keyFromScalar } from "../../harness/pki/index.js";
import { publicKeyObject, verifySignature } from "../../harness/pki/keys.js";
import {
    deconstructAttestationElements, extractVidPid, parseCertificate, parseCertificationDeclaration, profileProblem, verifyAttestation, type TrustStore,
} from "../../harness/pki/index.js";
import { readFactoryData } from "../../emulator/esp_matter/factory_data_provider.js";
import type { CommissionOptions, Device } from "./device.js";
import { StepOutcome } from "./outcome.js";

export interface ChecklistItem {
    /** Stable id, e.g. "TC-DA-1.1/dac-profile". */
    id: string;
    title: string;
    status: "pass" | "fail" | "skip";
    detail: string;
}

export class CertificationOutcome extends StepOutcome {
    constructor(readonly items: readonly ChecklistItem[]) {
        const failed = items.filter(i => i.status === "fail");
        super(
            "certification", failed.length === 0, items.map(i => `${i.status.toUpperCase().padEnd(4)} ${i.id} ${i.title}${i.detail ? ` — ${i.detail}` : ""}`),
            failed[0] ? { code: failed[0].detail.split(/[:\s]/)[0] || "CertificationCheckFailed", message: `${failed[0].id}: ${failed[0].detail}` } : undefined,
            failed.map(f => f.id),
            `${items.filter(i => i.status === "pass").length}/${items.length} checks pass`,
        );
    }
}

const eq = (a: Uint8Array | undefined, b: Uint8Array | undefined) => a !== undefined && b !== undefined && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const hex4 = (n: number | undefined) => (n === undefined ? "none" : `0x${n.toString(16).toUpperCase().padStart(4, "0")}`);

/** Commissions the device (strict verifier) and checks what it sent, item by item. */
export async function certify(dev: Device, o: CommissionOptions & { trust?: TrustStore | "line" | "empty" } = {}): Promise<CertificationOutcome> {
    const items: ChecklistItem[] = [];
    const add = (id: string, title: string, run: () => string | undefined | { skip: string }) => {
        try {
            const r = run();
            if (r && typeof r === "object") items.push({ id, title, status: "skip", detail: r.skip });
            else items.push({ id, title, status: r ? "fail" : "pass", detail: r ?? "" });
        } catch (e) {
            const err = e as { code?: string; message?: string };
            items.push({ id, title, status: "fail", detail: `${err.code ?? "Error"}: ${err.message ?? String(e)}` });
        }
    };
    const result = await dev.commission(o);
    const att = result.attestation;
    const fd = readFactoryData({
        nvs: dev.factory.bytes, ...(dev.factory.keys ? { nvsKeys: dev.factory.keys } : {}), ...(dev.secureCert ? { secureCert: dev.secureCert } : {}),
        dacProvider: dev.factory.has("dac-cert") ? "nvs" : "secure-cert",
    }).data;
    const notReached = { skip: `not reached: commissioning stopped at ${result.failedStep ?? "?"} (${result.error?.code ?? ""})` };

    add("TC-DA-1.1/chain-request", "CertificateChainRequest returns the DAC and PAI of the factory data", () => {
        if (!att) return notReached;
        if (!eq(att.dacCert, fd.dacCert)) return "DacMismatch: the DAC sent is not the factory DAC";
        if (!eq(att.paiCert, fd.paiCert)) return "PaiMismatch: the PAI sent is not the factory PAI";
        return undefined;
    });
    add("TC-DA-1.1/dac-profile", "DAC follows the Matter certificate profile", () => (att ? prefixed("DacFormatInvalid", profileProblem(parseCertificate(att.dacCert), "DAC")) : notReached));
    add("TC-DA-1.1/pai-profile", "PAI follows the Matter certificate profile", () => (att ? prefixed("PaiFormatInvalid", profileProblem(parseCertificate(att.paiCert), "PAI")) : notReached));
    add("TC-DA-1.1/vid-pid", "DAC and PAI VID/PID agree with Basic Information", () => {
        if (!att) return notReached;
        const dac = extractVidPid(parseCertificate(att.dacCert));
        const pai = extractVidPid(parseCertificate(att.paiCert));
        if (dac.vid !== att.vendorId) return `DacVendorIdMismatch: DAC VID ${hex4(dac.vid)} ≠ Basic Information VendorID ${hex4(att.vendorId)}`;
        if (dac.pid !== att.productId) return `DacProductIdMismatch: DAC PID ${hex4(dac.pid)} ≠ Basic Information ProductID ${hex4(att.productId)}`;
        if (pai.vid !== dac.vid) return `PaiVendorIdMismatch: PAI VID ${hex4(pai.vid)} ≠ DAC VID ${hex4(dac.vid)}`;
        if (pai.pid !== undefined && pai.pid !== dac.pid) return `DacProductIdMismatch: PAI PID ${hex4(pai.pid)} ≠ DAC PID ${hex4(dac.pid)}`;
        return undefined;
    });
    add("TC-DA-1.1/dac-key", "DAC public key = dac-pub-key = public key of dac-key", () => {
        const dac = parseCertificate(fd.dacCert ?? new Uint8Array());
        const pub = dev.factory.get("dac-pub-key");
        if (fd.dacKey && !eq(keyFromScalar(fd.dacKey).publicKey, dac.publicKey)) return "DacPrivateKeyMismatch: dac-key does not belong to the DAC";
        if (!(pub instanceof Uint8Array)) return { skip: "no dac-pub-key stored (DAC in esp_secure_cert); dac-key matches the DAC" };
        if (!eq(pub, dac.publicKey)) return "DacPublicKeyMismatch: chip-factory dac-pub-key differs from the DAC's public key";
        return undefined;
    });
    add("TC-DA-1.2/elements", "AttestationResponse elements: TLV structure, ≤ 900 bytes, nonce echoed, CD included", () => {
        if (!att) return notReached;
        if (att.attestationElements.length > 900) return `InvalidArgument: attestation elements are ${att.attestationElements.length} bytes (> 900)`;
        const el = deconstructAttestationElements(att.attestationElements);
        if (!eq(el.nonce, att.attestationNonce)) return "AttestationNonceMismatch: the elements do not carry the commissioner's nonce";
        if (!eq(el.certificationDeclaration, fd.certDeclaration)) return "CertificationDeclarationMismatch: the CD sent is not the factory cert-dclrn";
        return undefined;
    });
    add("TC-DA-1.2/signature", "Attestation signature verifies with the DAC public key over elements ‖ challenge", () => {
        if (!att) return notReached;
        const dac = parseCertificate(att.dacCert);
        const ok = att.attestationSignature.length === 64 && verifySignature(publicKeyObject(dac.publicKey), Buffer.concat([att.attestationElements, att.attestationChallenge]), att.attestationSignature, "ieee-p1363");
        return ok ? undefined : "AttestationSignatureInvalid: ECDSA P-256 signature does not verify";
    });
    add("TC-DA-1.2/cd-content", "CD content vs Basic Information and DAC (format 1, vendor_id, product_id_array, origin)", () => {
        if (!att) return notReached;
        const cd = parseCertificationDeclaration(deconstructAttestationElements(att.attestationElements).certificationDeclaration).content;
        if (cd.formatVersion !== 1) return `AttestationElementsMalformed: format_version ${cd.formatVersion}`;
        if (cd.vendorId !== att.vendorId) return `CertificationDeclarationInvalidVendorId: CD vendor_id ${hex4(cd.vendorId)} ≠ VendorID ${hex4(att.vendorId)}`;
        if (!cd.productIds.includes(att.productId)) return `CertificationDeclarationInvalidProductId: ProductID ${hex4(att.productId)} ∉ product_id_array`;
        const dac = extractVidPid(parseCertificate(att.dacCert));
        const originVid = cd.dacOriginVendorId ?? cd.vendorId;
        if (dac.vid !== originVid) return `CertificationDeclarationInvalidVendorId: DAC VID ${hex4(dac.vid)} ≠ ${cd.dacOriginVendorId !== undefined ? "dac_origin_vendor_id" : "CD vendor_id"} ${hex4(originVid)}`;
        return undefined;
    });
    add("TC-DA-1.2/cd-type", "CD certification_type is official (2) for a product", () => {
        if (!att) return notReached;
        const cd = parseCertificationDeclaration(deconstructAttestationElements(att.attestationElements).certificationDeclaration).content;
        return cd.certificationType === 2 ? undefined : { skip: `certification_type ${cd.certificationType} (${["development/test", "provisional"][cd.certificationType] ?? "?"}): fine for pre-testing, not for shipping` };
    });
    add("TC-DA-1.7/verifier", "Commissioner's DefaultDACVerifier accepts the device (chain to a trusted PAA, validity, CD signer)", () => {
        if (!att) return notReached;
        const trust = dev.trustStore(o.trust);
        const r = verifyAttestation({
            dac: att.dacCert, pai: att.paiCert, attestationElements: att.attestationElements, attestationChallenge: att.attestationChallenge,
            signature: att.attestationSignature, nonce: att.attestationNonce, vendorId: att.vendorId, productId: att.productId,
        }, trust, { allowTestKeys: o.allowTestKeys ?? true });
        return r.result === "Success" ? undefined : `${r.result}: ${r.detail}`;
    });
    add("basic-information", "Basic Information matches the factory data", () => {
        const bi = result.basicInformation;
        if (!bi) return notReached;
        const out: string[] = [];
        if (bi.vendorId !== fd.vendorId) out.push(`VendorID ${bi.vendorId} ≠ ${fd.vendorId}`);
        if (bi.productId !== fd.productId) out.push(`ProductID ${bi.productId} ≠ ${fd.productId}`);
        if (fd.serialNumber !== undefined && bi.serialNumber !== fd.serialNumber) out.push(`SerialNumber ${bi.serialNumber} ≠ ${fd.serialNumber}`);
        if (fd.manufacturingDate !== undefined && bi.manufacturingDate !== fd.manufacturingDate) out.push(`ManufacturingDate ${bi.manufacturingDate} ≠ ${fd.manufacturingDate}`);
        return out.length ? `BasicInformationMismatch: ${out.join("; ")}` : undefined;
    });
    add("commissioning", "Commissioning completes (PASE, attestation, NOC, CASE)", () => (result.ok ? undefined : `${result.error?.code}: ${result.error?.message}`));
    return new CertificationOutcome(items);
}

function prefixed(name: string, problem: string | undefined): string | undefined {
    return problem ? `${name}: ${problem}` : undefined;
}
