import type { Command } from "commander";
import { action } from "../action.js";
import { intIn } from "../args.js";
import { inFile, readInput } from "../io.js";

interface VerifyOpts {
    json?: boolean;
    dac: string;
    pai: string;
    cd: string;
    paaStore: string;
    cdSigners?: string;
    vid?: number;
    pid?: number;
    dacKey?: string;
    allowTestKeys?: boolean;
    now?: string;
}

/** `mfgsim attest`: strict device attestation (connectedhomeip DefaultDACVerifier rules and result codes). */
export function register(program: Command): void {
    const group = program.command("attest").description("device attestation: verify a DAC/PAI/CD like connectedhomeip's DefaultDACVerifier");
    group.command("verify")
        .description("verify a DAC chain and Certification Declaration; prints the AttestationVerificationResult")
        .requiredOption("--dac <file>", "DAC certificate (DER or PEM)")
        .requiredOption("--pai <file>", "PAI certificate (DER or PEM)")
        .requiredOption("--cd <file>", "Certification Declaration (CMS DER)")
        .requiredOption("--paa-store <dir>", "directory of trusted PAA certificates (DER or PEM)")
        .option("--cd-signers <dir>", "directory of extra CD-signing certificates (the CSA keys 001–005 and the SDK test key are built in)")
        .option("--vid <v>", "Basic Information VendorID (default: the DAC's VID)", intIn(0, 0xffff, "--vid"))
        .option("--pid <p>", "Basic Information ProductID (default: the DAC's PID)", intIn(0, 0xffff, "--pid"))
        .option("--dac-key <file>", "DAC private key (PEM, DER SEC1/PKCS#8, or raw 32 bytes): sign attestation elements so the signature and nonce checks run too")
        .option("--allow-test-keys", "accept CDs signed by a test CD-signing key (the SDK test key or a signer not chaining to the CSA root); default: refuse")
        .option("--now <time>", "evaluate DAC validity at this ISO-8601 time instead of the system clock")
        .option("--json", "print one JSON document on stdout")
        .addHelpText("after", `
Exit status: 0 Success, 1 any other AttestationVerificationResult, 2 unreadable input.
Without --dac-key the attestation signature (step 4) is not checked; the nonce check runs on elements built here.

Example:
  mfgsim attest verify --dac dac.der --pai pai.der --cd cd.der --paa-store paa/ --dac-key dac-key.pem --allow-test-keys
`)
        .action(action("attest verify", async (opts: VerifyOpts) => {
            const { DiagnosticError } = await import("../../../emulator/esp_common/err.js");
            const { loadPrivateKey } = await import("../../pki/keys.js");
            const { loadTrustStore, certificatesInFile } = await import("../../pki/trust-dir.js");
            const { createAttestationResponse } = await import("../../pki/attestation.js");
            const { extractVidPid, verifyAttestation } = await import("../../pki/verify.js");
            const { describeVerdict } = await import("../../pki/results.js");
            const { parseCertificate } = await import("../../pki/x509.js");
            const { randomBytes } = await import("node:crypto");

            const cert = async (file: string, what: string): Promise<Uint8Array> => {
                const data = await readInput(file, what);
                const ders = certificatesInFile(data);
                if (ders.length === 0) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `${what}: no CERTIFICATE block in the PEM file`, { file });
                return ders[0]!;
            };
            const dac = await cert(opts.dac, "DAC");
            const pai = await cert(opts.pai, "PAI");
            const cdData = await readInput(opts.cd, "CD");
            const cdText = Buffer.from(cdData).toString("latin1");
            let cd: Uint8Array = cdData;
            if (cdText.includes("-----BEGIN")) {
                const { pemBlocks } = await import("../../pki/keys.js");
                const b = pemBlocks(cdText)[0];
                if (!b) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "CD: no PEM block", { file: opts.cd });
                cd = b.der;
            }
            let now: Date | undefined;
            if (opts.now !== undefined) {
                now = new Date(opts.now);
                if (Number.isNaN(now.getTime())) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `--now '${opts.now}' is not an ISO-8601 time`, { field: "--now" });
            }
            const trust = await loadTrustStore({ paaStore: opts.paaStore, cdSigners: opts.cdSigners });
            let dacIds: { vid?: number; pid?: number } = {};
            try {
                dacIds = extractVidPid(parseCertificate(dac));
            } catch {
                dacIds = {};
            }
            const vendorId = opts.vid ?? dacIds.vid ?? 0;
            const productId = opts.pid ?? dacIds.pid ?? 0;
            let elements;
            if (opts.dacKey) {
                const raw = await readInput(opts.dacKey, "DAC key");
                const key = inFile(opts.dacKey, () => loadPrivateKey(raw, "DAC key"));
                elements = createAttestationResponse({ certificationDeclaration: cd, dacKey: key });
            } else {
                const { buildAttestationElements } = await import("../../pki/attestation.js");
                const nonce = new Uint8Array(randomBytes(32));
                elements = { attestationElements: buildAttestationElements({ certificationDeclaration: cd, nonce }), nonce, attestationChallenge: new Uint8Array(16).fill(1), signature: new Uint8Array(64) };
            }
            const r = verifyAttestation({ dac, pai, ...elements, vendorId, productId }, trust, { allowTestKeys: !!opts.allowTestKeys, now, skipAttestationSignature: !opts.dacKey });
            const json = {
                result: r.result, code: r.code, detail: r.detail,
                basicInformation: { vendorId, productId },
                attestationSignatureChecked: !!opts.dacKey,
                allowTestKeys: !!opts.allowTestKeys,
                dac: r.dac, pai: r.pai, paa: r.paa,
                cd: r.cd ? { vendorId: r.cd.vendorId, productIds: r.cd.productIds, certificateId: r.cd.certificateId, certificationType: r.cd.certificationType, signer: r.cd.signer, signerKind: r.cd.signerKind } : undefined,
                skippedTrustFiles: trust.skipped?.length ? trust.skipped : undefined,
            };
            const text = `${describeVerdict(r)}${opts.dacKey ? "" : "\n(note: attestation signature not checked; pass --dac-key to run it)"}`;
            return { json, text, exitCode: r.result === "Success" ? 0 : 1 };
        }));
}
