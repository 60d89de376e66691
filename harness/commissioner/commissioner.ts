/**
 * The strict commissioner ("phone app"): one long-lived matter.js controller (a ServerNode with ControllerBehavior in
 * its own loopback-only environment) that commissions many virtual devices over real UDP, each with PASE → strict
 * attestation (our AttestationHook) → CSR/NOC → CASE → Basic Information read.
 *
 * Create one `Commissioner` per gate run and call `commission()` per device; `close()` once at the end.
 */
import { Logger, LogLevel, ServerNode, Millis, NodeId } from "@matter/main";
import { ControllerBehavior } from "@matter/main";
import {
    ControllerCommissioner,
    DclCertificateService,
    PeerSet,
    type Fabric,
    type PeerAddress,
} from "@matter/main/protocol";
import { createNodeEnvironment } from "../../emulator/device/environment.js";
import { MemoryStorageBackend, type DeviceStorageBackend } from "../../emulator/device/storage.js";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { readBasicInformationOf, startControllerNode } from "./controller_node.js";
import { DEFAULT_COVERED_FINDINGS, FlowState, strictFlowClass } from "./flow.js";
import { assertLoopback, DeviceRegistry, type DeviceAddress } from "./registry.js";
import type { OfflineTrustStore } from "./trust.js";
import type { AttestationHook, BasicInformationSnapshot, CommissionResult, CommissionStep } from "./types.js";

export interface CommissionerOptions {
    /** Controller storage (its fabric, root CA key). Default: in memory. */
    storage?: DeviceStorageBackend;
    /** Operational discovery source; default: a fresh registry. */
    registry?: DeviceRegistry;
    /** Offline trust store for matter.js's own DCL-dependent checks (no network). */
    trustStore?: OfflineTrustStore;
    /** Fabric label written to devices. Default "mfgsim". */
    fabricLabel?: string;
    /** matter.js findings accepted because the AttestationHook covers them. Default DEFAULT_COVERED_FINDINGS. */
    coveredFindings?: readonly string[];
}

export interface CommissionRequest {
    address: DeviceAddress;
    passcode: number;
    /** The label's discriminator; checked against what the registry says the device advertises, if known. */
    discriminator?: number;
    attestation: AttestationHook;
    /** PASE budget (default 10 s; a wrong passcode fails on the first key confirmation anyway). */
    paseTimeoutMs?: number;
    /** Read Basic Information over CASE after commissioning (default true). */
    readBasicInformation?: boolean;
    nodeId?: bigint;
}

const BASIC_INFORMATION_ATTRIBUTES = [
    "dataModelRevision", "vendorName", "vendorId", "productName", "productId", "nodeLabel", "location",
    "hardwareVersion", "hardwareVersionString", "softwareVersion", "softwareVersionString", "manufacturingDate",
    "partNumber", "productUrl", "productLabel", "serialNumber", "uniqueId", "productAppearance",
] as const;

/** Maps a thrown matter.js error to a name users grep for. */
export function errorName(e: unknown): string {
    if (e instanceof DiagnosticError) return e.code;
    const text = `${(e as Error)?.message ?? e} ${(e as { cause?: Error })?.cause?.message ?? ""}`;
    if (/incorrect key confirmation/i.test(text)) return "PaseKeyConfirmationFailed";
    if (/InvalidParam|channel status response/i.test(text)) return "PaseKeyConfirmationFailed";
    if (/CSR|nocsr/i.test(text) && /signature/i.test(text)) return "CsrSignatureInvalid";
    if (/timed? ?out|timeout|retransmission limit|Failed to connect/i.test(text)) return "CHIP_ERROR_TIMEOUT";
    const name = (e as Error)?.constructor?.name;
    return name && name !== "Error" ? name : "CHIP_ERROR_INTERNAL";
}

export class Commissioner {
    readonly registry: DeviceRegistry;
    readonly #node: ServerNode;
    readonly #fabric: Fabric;
    readonly #covered: ReadonlySet<string>;
    #closed?: Promise<void>;

    private constructor(node: ServerNode, fabric: Fabric, registry: DeviceRegistry, covered: ReadonlySet<string>) {
        this.#node = node;
        this.#fabric = fabric;
        this.registry = registry;
        this.#covered = covered;
    }

    static async start(options: CommissionerOptions = {}): Promise<Commissioner> {
        const environment = createNodeEnvironment("mfgsim-commissioner", { storage: options.storage ?? new MemoryStorageBackend() });
        if (options.trustStore !== undefined) {
            // Duck-typed DclCertificateService: offline, never fetches (see trust.ts).
            environment.set(DclCertificateService, options.trustStore as unknown as DclCertificateService);
        }
        const { node, fabric } = await startControllerNode({
            id: "mfgsim-commissioner",
            environment,
            fabricLabel: options.fabricLabel ?? "mfgsim",
            productId: 0x8000,
            productName: "mfgsim commissioner",
        });
        return new Commissioner(node, fabric, options.registry ?? new DeviceRegistry(), new Set(options.coveredFindings ?? DEFAULT_COVERED_FINDINGS));
    }

    get fabricId(): bigint {
        return BigInt(this.#fabric.fabricId);
    }

    #peerAddress(nodeId: bigint): PeerAddress {
        return this.#fabric.addressOf(NodeId(nodeId));
    }

    /** Points matter.js at the registry's address; returns true when it moved (device restarted elsewhere). */
    #useRegistry(address: PeerAddress): boolean {
        const target = this.registry.resolveOperational(this.fabricId, BigInt(address.nodeId));
        if (target === undefined) return false;
        const descriptor = this.#node.env.get(PeerSet).for(address).descriptor;
        const current = descriptor.operationalAddress;
        const moved = current !== undefined && (current.ip !== target.ip || current.port !== target.port);
        descriptor.operationalAddress = { type: "udp", ip: target.ip, port: target.port };
        return moved;
    }

    async commission(request: CommissionRequest): Promise<CommissionResult> {
        const t0 = performance.now();
        assertLoopback(request.address);
        if (!Number.isInteger(request.passcode) || request.passcode < 1 || request.passcode > 99999998) {
            throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `passcode ${request.passcode} out of range`, { field: "passcode" });
        }
        const steps: CommissionStep[] = [];
        const state = new FlowState();
        const advertised = this.registry.resolveCommissionable(request.address);
        if (request.discriminator !== undefined && advertised !== undefined && advertised.discriminator !== request.discriminator) {
            steps.push({ name: "pase", status: "failed", detail: `device advertises discriminator ${advertised.discriminator}, label says ${request.discriminator}`, ms: 0 });
            return { ok: false, failedStep: "pase", error: "DiscriminatorMismatch", message: steps[0]!.detail, steps, nocIssued: false, totalMs: performance.now() - t0 };
        }

        let assigned: bigint | undefined = request.nodeId;
        const commissioner = this.#node.env.get(ControllerCommissioner);
        const flow = strictFlowClass({
            attestation: request.attestation,
            state,
            coveredFindings: this.#covered,
            beforeCase: address => {
                this.registry.setOperational(this.fabricId, BigInt(address.nodeId), request.address);
                this.#useRegistry(address);
            },
        });
        let failed: unknown;
        try {
            const { address } = await commissioner.commission({
                addresses: [{ type: "udp", ip: request.address.ip, port: request.address.port }],
                fabric: this.#fabric,
                passcode: request.passcode,
                commissioningFlowImpl: flow,
                onAttestationFailure: () => false,
                timeout: Millis(request.paseTimeoutMs ?? 10_000),
                caseConnectionTiming: {},
                claimNodeIdAfterPase: async () => {
                    if (assigned === undefined) {
                        const pa = await this.#node.act(agent => agent.get(ControllerBehavior).allocatePeerAddress(this.#fabric.fabricIndex));
                        assigned = BigInt(pa.nodeId);
                    }
                    return NodeId(assigned);
                },
            } as never);
            assigned = BigInt(address.nodeId);
            state.enter("basic-information", "commissioning complete");
        } catch (e) {
            failed = e;
        }

        // Phase marks → steps (each mark closes the phase it names).
        const byName = new Map<string, CommissionStep>();
        for (const m of state.marks) {
            const s = byName.get(m.name);
            if (s) {
                s.ms += m.ms;
                s.detail = m.detail;
            } else {
                const step: CommissionStep = { name: m.name, status: "ok", detail: m.detail, ms: m.ms };
                byName.set(m.name, step);
                steps.push(step);
            }
        }
        const nodeId = assigned;
        if (failed !== undefined) {
            const phase = state.phase;
            const error = state.failure?.error ?? errorName(failed);
            const message = state.failure?.message ?? (failed as Error).message ?? String(failed);
            const step = byName.get(phase);
            const ms = performance.now() - state.phaseStart;
            if (step) {
                step.status = "failed";
                step.detail = message;
                step.ms += ms;
            } else {
                steps.push({ name: phase, status: "failed", detail: message, ms });
            }
            if (nodeId !== undefined) this.registry.forget(this.fabricId, nodeId);
            return {
                ok: false, failedStep: phase, error, message, steps,
                nodeId, nodeIdHex: nodeId === undefined ? undefined : `0x${nodeId.toString(16).toUpperCase()}`,
                acceptedFindings: state.acceptedFindings, nocIssued: state.nocIssued, totalMs: performance.now() - t0,
            };
        }

        let basicInformation: BasicInformationSnapshot | undefined;
        if (request.readBasicInformation !== false) {
            const tr = performance.now();
            try {
                basicInformation = await this.readBasicInformation(nodeId!);
                steps.push({ name: "basic-information", status: "ok", detail: `${Object.keys(basicInformation).length} attributes over CASE`, ms: performance.now() - tr });
            } catch (e) {
                const message = (e as Error).message;
                steps.push({ name: "basic-information", status: "failed", detail: message, ms: performance.now() - tr });
                return {
                    ok: false, failedStep: "basic-information", error: errorName(e), message, steps, nodeId,
                    nodeIdHex: `0x${nodeId!.toString(16).toUpperCase()}`, acceptedFindings: state.acceptedFindings,
                    nocIssued: true, totalMs: performance.now() - t0,
                };
            }
        }
        return {
            ok: true, steps, basicInformation, nodeId, nodeIdHex: `0x${nodeId!.toString(16).toUpperCase()}`,
            acceptedFindings: state.acceptedFindings, nocIssued: true, totalMs: performance.now() - t0,
        };
    }

    /** Reads Basic Information (endpoint 0) over CASE; the address comes from the registry. */
    async readBasicInformation(nodeId: bigint): Promise<BasicInformationSnapshot> {
        const address = this.#peerAddress(nodeId);
        const peer = this.#node.env.get(PeerSet).for(address);
        if (this.#useRegistry(address)) {
            // The device restarted on another port: sessions to the old address are dead, drop them now instead of
            // letting MRP retransmit into the void.
            await peer.disconnect(new Error("operational address changed"));
        }
        return (await readBasicInformationOf(this.#node, address, BASIC_INFORMATION_ATTRIBUTES)) as BasicInformationSnapshot;
    }

    /** Drops the CASE session(s) to a node (e.g. before its device restarts), keeping the fabric record. */
    async disconnect(nodeId: bigint): Promise<void> {
        await this.#node.env.get(PeerSet).get(this.#peerAddress(nodeId))?.disconnect(new Error("disconnected by harness"));
    }

    close(): Promise<void> {
        return (this.#closed ??= this.#node.close());
    }
}

/** One-shot convenience: start a commissioner, commission one device, close. Prefer a long-lived Commissioner. */
export async function commission(request: CommissionRequest & { commissioner?: CommissionerOptions }): Promise<CommissionResult> {
    const c = await Commissioner.start(request.commissioner);
    try {
        return await c.commission(request);
    } finally {
        await c.close();
    }
}

/** matter.js logs at info by default; a gate of many devices wants warnings only. */
export function quietMatterLogs(level: LogLevel = LogLevel.WARN): void {
    Logger.level = level;
}
