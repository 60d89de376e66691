/**
 * The strict commissioning flow: a `commissioningFlowImpl` subclass of matter.js's ControllerCommissioningFlow.
 *
 * - Step 10.0 (ours, before matter.js's 10.1): fetch DAC, PAI and a fresh attestation response and hand them to the
 *   AttestationHook (our strict verifier). Anything but "Success" aborts commissioning with that result name.
 * - matter.js's step 10.1 still runs (it also extracts the DAC key the CSR in step 11 is checked against). Its
 *   `onFailure` policy is forced: every error-level finding rejects; warning/info findings are accepted only when
 *   they are in the "covered by our verifier" list (checks matter.js skipped for lack of a DCL) — never the
 *   "accepted for backward compatibility" path.
 * - Before the step-18 CASE reconnect, the peer's operational address is taken from the harness's registry.
 * - Marker steps record per-phase timings (attestation, noc, case).
 */
import { EndpointNumber } from "@matter/main";
import { OperationalCredentials } from "@matter/main/clusters/operational-credentials";
import {
    CommissioningError,
    ControllerCommissioningFlow,
    Invoke,
    TlvAttestation,
    type AttestationFinding,
    type PeerAddress,
} from "@matter/main/protocol";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { describeVerdict } from "../pki/results.js";
import type { AttestationHook, CommissionStepName } from "./types.js";

/** matter.js findings that only say "I could not check this without a DCL" (or are informational). */
export const DEFAULT_COVERED_FINDINGS: readonly string[] = [
    "DclServiceUnavailable",
    "CdSignerVerificationSkipped",
    "PaaTrustStoreTimeMismatch",
    "CertificationTypeTest",
    "TrustedAsTestCertificate",
    "CertificateIdNotVerified",
];

/** Shared between the flow instance (constructed by matter.js) and the commissioner. */
export class FlowState {
    phase: CommissionStepName = "pase";
    phaseStart = performance.now();
    readonly marks: { name: CommissionStepName; ms: number; detail: string }[] = [];
    failure?: { error: string; message: string };
    acceptedFindings: string[] = [];
    attestationResult?: string;
    nocIssued = false;

    enter(phase: CommissionStepName, detail: string) {
        const now = performance.now();
        this.marks.push({ name: this.phase, ms: now - this.phaseStart, detail });
        this.phase = phase;
        this.phaseStart = now;
    }

    fail(error: string, message: string) {
        this.failure ??= { error, message };
    }
}

export interface StrictFlowOptions {
    attestation: AttestationHook;
    state: FlowState;
    coveredFindings: ReadonlySet<string>;
    /** Called right before matter.js reconnects over CASE (step 18). */
    beforeCase(address: PeerAddress): void;
}

const STEP_SUCCESS = 0; // CommissioningStepResultCode.Success (the enum is not exported by matter.js)

type FlowCtorArgs = ConstructorParameters<typeof ControllerCommissioningFlow>;

export function decideFindings(findings: AttestationFinding[], options: Pick<StrictFlowOptions, "state" | "coveredFindings">): true {
    const { state, coveredFindings } = options;
    const rejected = findings.find(f => f.level === "error" || !coveredFindings.has(f.type));
    if (rejected !== undefined) {
        state.fail(rejected.type, `matter.js attestation: ${rejected.message}`);
        throw new CommissioningError(`Device attestation rejected: ${rejected.type}: ${rejected.message}`);
    }
    if (state.attestationResult !== "Success") {
        // Cannot happen with the step order below; refuse rather than accept unverified findings.
        state.fail("AttestationNotVerified", "matter.js findings seen before the strict verifier ran");
        throw new CommissioningError("Device attestation findings seen before the strict verifier ran");
    }
    state.acceptedFindings.push(...findings.map(f => f.type));
    return true;
}

export function strictFlowClass(options: StrictFlowOptions): typeof ControllerCommissioningFlow {
    const { state } = options;
    return class StrictCommissioningFlow extends ControllerCommissioningFlow {
        constructor(...[interaction, ca, fabric, commissioningOptions, transitionToCase]: FlowCtorArgs) {
            super(
                interaction,
                ca,
                fabric,
                {
                    ...commissioningOptions,
                    attestation: {
                        ...commissioningOptions.attestation,
                        onFailure: findings => decideFindings(findings, options),
                    },
                },
                async (address, supportsConcurrentConnections) => {
                    state.enter("case", "NOC installed, ACL written");
                    options.beforeCase(address);
                    const result = await transitionToCase(address, supportsConcurrentConnections);
                    state.enter("case", "CASE session established");
                    return result;
                },
            );
            // PASE is established when matter.js constructs the flow.
            state.enter("pase", "PASE session established");
            this.commissioningSteps.push(
                {
                    stepNumber: 10,
                    subStepNumber: 0,
                    name: "mfgsim.StrictAttestation",
                    stepLogic: () => this.#strictAttestation(),
                },
                {
                    stepNumber: 10,
                    subStepNumber: 99,
                    name: "mfgsim.AttestationDone",
                    stepLogic: async () => {
                        state.enter("noc", `attestation ${state.attestationResult}${state.acceptedFindings.length ? `; matter.js notes: ${state.acceptedFindings.join(", ")}` : ""}`);
                        return { code: STEP_SUCCESS as never, breadcrumb: this.lastBreadcrumb };
                    },
                },
                {
                    stepNumber: 11,
                    subStepNumber: 99,
                    name: "mfgsim.NocDone",
                    stepLogic: async () => {
                        state.nocIssued = true;
                        return { code: STEP_SUCCESS as never, breadcrumb: this.lastBreadcrumb };
                    },
                },
            );
        }

        async #invoke(request: Invoke.ConcreteCommandRequest<typeof OperationalCredentials>): Promise<any> {
            for await (const data of this.interaction.invoke(
                Invoke({ commands: [request as never], useExtendedFailSafeMessageResponseTimeout: true }),
            )) {
                for (const entry of data) {
                    if (entry.kind === "cmd-response") return entry.data;
                    if (entry.kind === "cmd-status") {
                        throw new CommissioningError(`${String(request.command)} failed with status ${entry.status}`);
                    }
                }
            }
            throw new CommissioningError(`${String(request.command)}: no response`);
        }

        async #strictAttestation() {
            state.enter("attestation", "commissioning channel set up (failsafe armed, regulatory config)");
            const root = EndpointNumber(0);
            const { certificate: dacCert } = await this.#invoke({
                endpoint: root,
                cluster: OperationalCredentials,
                command: "certificateChainRequest",
                fields: { certificateType: OperationalCredentials.CertificateChainType.DacCertificate },
            } as never);
            const { certificate: paiCert } = await this.#invoke({
                endpoint: root,
                cluster: OperationalCredentials,
                command: "certificateChainRequest",
                fields: { certificateType: OperationalCredentials.CertificateChainType.PaiCertificate },
            } as never);
            const attestationNonce = new Uint8Array(this.fabric.crypto.randomBytes(32));
            const { attestationElements, attestationSignature } = await this.#invoke({
                endpoint: root,
                cluster: OperationalCredentials,
                command: "attestationRequest",
                fields: { attestationNonce },
            } as never);
            let certificationDeclaration: Uint8Array;
            try {
                certificationDeclaration = new Uint8Array(TlvAttestation.decode(attestationElements).declaration);
            } catch (e) {
                state.fail("AttestationElementsMalformed", `attestation elements: ${(e as Error).message}`);
                throw new CommissioningError(`Malformed attestation elements: ${(e as Error).message}`);
            }
            let outcome;
            try {
                outcome = await options.attestation({
                    dacCert: new Uint8Array(dacCert),
                    paiCert: new Uint8Array(paiCert),
                    attestationElements: new Uint8Array(attestationElements),
                    attestationChallenge: new Uint8Array(this.commissioningOptions.attestation.challengeKey),
                    attestationSignature: new Uint8Array(attestationSignature),
                    attestationNonce,
                    vendorId: this.collectedCommissioningData.vendorId ?? -1,
                    productId: this.collectedCommissioningData.productId ?? -1,
                    certificationDeclaration,
                });
            } catch (e) {
                const code = e instanceof DiagnosticError ? e.code : "AttestationHookFailed";
                state.fail(code, `attestation verifier failed: ${(e as Error).message}`);
                throw new CommissioningError(`Attestation verifier failed: ${(e as Error).message}`);
            }
            state.attestationResult = outcome.result;
            if (outcome.result !== "Success") {
                state.fail(outcome.result, describeVerdict(outcome));
                throw new CommissioningError(`Device attestation failed: ${describeVerdict(outcome)}`);
            }
            return { code: STEP_SUCCESS as never, breadcrumb: this.lastBreadcrumb };
        }
    };
}
