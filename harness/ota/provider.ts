/**
 * The harness's OTA Provider: a matter.js controller node (its own fabric, loopback only) with an OTA Provider
 * endpoint (matter.js OtaSoftwareUpdateProviderServer: QueryImage, BDX server, ApplyUpdateRequest) serving images
 * from memory, a file or a directory. It commissions the device itself (PASE from the label's passcode, the
 * strict attestation hook when given, CASE through the harness's registry — never mDNS), so the provider is an
 * administrator of the fabric the requestor must talk to.
 *
 * Image choice follows the Matter rules (same VID/PID, newer than the running version, running version within
 * min/max applicable) and answers QueryImage with NotAvailable otherwise; `serveAnything` turns the provider into a
 * misbehaving one so the device's own refusals can be tested.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Endpoint, Millis, NodeId, ServerNode } from "@matter/main";
import { OtaSoftwareUpdateProviderServer } from "@matter/main/behaviors/ota-software-update-provider";
import { OtaSoftwareUpdateRequestorClient } from "@matter/main/behaviors/ota-software-update-requestor";
import { OtaProviderEndpoint } from "@matter/main/endpoints/ota-provider";
import {
    BdxError,
    BdxProtocol,
    type BdxSession,
    ControllerCommissioner,
    PeerSet,
    PersistedFileDesignator,
    ScopedStorage,
    type Fabric,
    type PeerAddress,
} from "@matter/main/protocol";
import { OtaSoftwareUpdateProvider } from "@matter/main/clusters/ota-software-update-provider";
import { BdxStatusCode } from "@matter/main/types";
import { OtaSoftwareUpdateRequestor } from "@matter/main/clusters/ota-software-update-requestor";
import { createNodeEnvironment } from "../../emulator/device/environment.js";
import { MemoryStorageBackend } from "../../emulator/device/storage.js";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { checkOtaHeader, decodeOtaImage, type OtaImageHeader } from "../../emulator/ota_image/index.js";
import { readBasicInformationOf, startControllerNode } from "../commissioner/controller_node.js";
import { DEFAULT_COVERED_FINDINGS, FlowState, strictFlowClass } from "../commissioner/flow.js";
import { assertLoopback, type DeviceAddress } from "../commissioner/registry.js";
import type { AttestationHook } from "../commissioner/types.js";

export interface ProvidedImage {
    name: string;
    bytes: Uint8Array;
    header: OtaImageHeader;
}

export interface QueryRecord {
    nodeId: bigint;
    vendorId: number;
    productId: number;
    softwareVersion: number;
    status: "UpdateAvailable" | "NotAvailable";
    image?: string;
    /** SoftwareVersion of the offered image. */
    offeredVersion?: number;
    why?: string;
}

export interface TransferRecord {
    nodeId: bigint;
    bytes: number;
    ms: number;
    finished: boolean;
    aborted?: boolean;
}

/** Knobs the tests turn. */
export interface ProviderFaults {
    /** Serve the newest image whatever VID/PID/version rules say (a misbehaving provider). */
    serveAnything?: boolean;
    /**
     * Abort BDX transfers after this many bytes of the file: the provider's storage read fails there, so matter.js's
     * BDX sender answers the requestor's next BlockQuery with a StatusReport (Failure / TransferFailedUnknownError)
     * and the requestor sees the failure at once instead of after the 5-minute BDX idle timeout.
     */
    abortAfterBytes?: number;
    /** How many transfers to abort that way (default 1; matter.js's requestor tries a download 3 times per query). */
    abortCount?: number;
    /** Flip a bit of the served payload at this file offset (the transfer corrupts the image). */
    flipBitAt?: number;
    /**
     * Stall every BDX transfer after this many bytes of the file: the provider's storage read never completes, so
     * neither a Block nor a StatusReport reaches the requestor, which waits for its BDX idle timeout (5 minutes in
     * matter.js, as in connectedhomeip's BDXDownloader). A hung provider, a file server that stopped answering…
     * performOta gives up at its own deadline ("timeout"); `releaseStalls()` — also done by `close()` — then fails
     * the stalled reads, so the provider's sessions end with a StatusReport instead of lingering.
     */
    stallAfterBytes?: number;
}

/** What the provider endpoint reads from its environment. */
class ProviderContext {
    readonly images: ProvidedImage[] = [];
    readonly queries: QueryRecord[] = [];
    readonly transfers: TransferRecord[] = [];
    faults: ProviderFaults = {};
    aborts = 0;
    /** Reads stalled by `stallAfterBytes`, waiting for releaseStalls(). */
    readonly stalls = new Set<() => void>();
    /** How many transfers stalled so far. */
    stalled = 0;
    /** Per peer: stops watching BDX sessions of its previous query. */
    readonly watchers = new Map<string, () => void>();
    /** NotifyUpdateApplied commands received (the requestor booted the new image). */
    readonly applied: Array<{ nodeId: bigint; softwareVersion: number }> = [];
    /** matter.js's OTA storage wrapped with the read faults (one instance: BDX refuses a second storage per peer). */
    storage?: ScopedStorage;

    /** Takes one `abortAfterBytes` fault for the transfer that is opening its blob now (undefined: serve it whole). */
    takeAbort(): number | undefined {
        const limit = this.faults.abortAfterBytes;
        if (limit === undefined) return undefined;
        const left = (this.faults.abortCount ?? 1) - 1;
        this.faults = left > 0 ? { ...this.faults, abortCount: left } : { ...this.faults, abortAfterBytes: undefined, abortCount: undefined };
        return limit;
    }
}

/**
 * A Blob whose stream fails with a BdxError after `limit` bytes, the way a storage read error would. The reader
 * rejects but the underlying stream stays readable, so matter.js's sender closes its streams cleanly (an errored
 * ReadableStream would make its `stream.cancel()` reject and the BDX session would never report itself closed).
 */
function blobFailingAfter(blob: Blob, limit: number, onFail: () => void, stall?: () => Promise<void>): Blob {
    const fail = () => {
        onFail();
        return new BdxError(`provider storage read failed after ${limit} bytes (fault injection)`, BdxStatusCode.TransferFailedUnknownError);
    };
    const failing = {
        get size() {
            return blob.size;
        },
        get type() {
            return blob.type;
        },
        slice: (start?: number, end?: number) => blobFailingAfter(blob.slice(start, end), Math.max(0, limit - (start ?? 0)), onFail, stall),
        stream() {
            const inner = blob.stream();
            let served = 0;
            let failed = false;
            return {
                get locked() {
                    return inner.locked;
                },
                cancel: (reason?: unknown) => inner.cancel(reason),
                getReader() {
                    const reader = inner.getReader();
                    return {
                        get closed() {
                            return reader.closed;
                        },
                        releaseLock: () => reader.releaseLock(),
                        cancel: (reason?: unknown) => reader.cancel(reason),
                        async read() {
                            if (served >= limit) {
                                if (failed) throw new BdxError("provider storage read failed (fault injection)", BdxStatusCode.TransferFailedUnknownError);
                                failed = true;
                                if (stall) await stall(); // hangs until releaseStalls(), then fails like an abort
                                throw fail();
                            }
                            const r = await reader.read();
                            if (r.done) return r;
                            const room = limit - served;
                            const value = r.value.length > room ? r.value.subarray(0, room) : r.value;
                            served += value.length;
                            return { done: false, value };
                        },
                    };
                },
            };
        },
    };
    return failing as unknown as Blob;
}

/** matter.js's OTA ScopedStorage with the provider's read faults applied to every blob a BDX session opens. */
function faultyStorage(base: ScopedStorage, ctx: ProviderContext): ScopedStorage {
    const driver = base.blobDriver;
    const wrapped = new Proxy(driver, {
        get(target, prop) {
            if (prop === "openBlob") {
                return async (contexts: string[], key: string) => {
                    const blob = await target.openBlob(contexts, key);
                    const stallAt = ctx.faults.stallAfterBytes;
                    if (stallAt !== undefined) {
                        ctx.stalled++;
                        return blobFailingAfter(blob, stallAt, () => undefined, () => new Promise<void>(release => ctx.stalls.add(release)));
                    }
                    const limit = ctx.takeAbort();
                    return limit === undefined ? blob : blobFailingAfter(blob, limit, () => void ctx.aborts++);
                };
            }
            const v = Reflect.get(target, prop, target) as unknown;
            return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
    });
    return new ScopedStorage(wrapped, [...base.baseContexts], base.scope);
}

function pickImage(ctx: ProviderContext, q: { vendorId: number; productId: number; softwareVersion: number }): { image?: ProvidedImage; why?: string } {
    const sorted = [...ctx.images].sort((a, b) => b.header.softwareVersion - a.header.softwareVersion);
    if (ctx.faults.serveAnything) return sorted[0] ? { image: sorted[0] } : { why: "no image" };
    const reasons: string[] = [];
    for (const image of sorted) {
        const r = checkOtaHeader(image.header, { vendorId: q.vendorId, productId: q.productId, currentVersion: q.softwareVersion });
        if (r.length === 0) return { image };
        reasons.push(`${image.name}: ${r.map(x => x.code).join(", ")}`);
    }
    return { why: reasons.length ? reasons.join("; ") : "no image" };
}

export class HarnessOtaProviderServer extends OtaSoftwareUpdateProviderServer {
    /** matter.js's OTA storage, read through the provider's faults (BDX opens the served blob from here). */
    override get updateStorage(): ScopedStorage {
        const ctx = this.env.get(ProviderContext);
        return (ctx.storage ??= faultyStorage(super.updateStorage, ctx));
    }

    protected override async checkUpdateAvailable(request: OtaSoftwareUpdateProvider.QueryImageRequest, peerAddress: PeerAddress) {
        const ctx = this.env.get(ProviderContext);
        const { vendorId, productId, softwareVersion } = request;
        const { image, why } = pickImage(ctx, { vendorId, productId, softwareVersion });
        ctx.queries.push({
            nodeId: BigInt(peerAddress.nodeId), vendorId, productId, softwareVersion,
            status: image ? "UpdateAvailable" : "NotAvailable", ...(image ? { image: image.name, offeredVersion: image.header.softwareVersion } : {}), ...(why ? { why } : {}),
        });
        if (!image) return undefined;
        let bytes = image.bytes;
        if (ctx.faults.flipBitAt !== undefined && ctx.faults.flipBitAt < bytes.length) {
            bytes = bytes.slice();
            bytes[ctx.faults.flipBitAt]! ^= 0x10;
        }
        const name = `img-${image.header.vendorId.toString(16)}-${image.header.productId.toString(16)}-${image.header.softwareVersion}`;
        const fd = new PersistedFileDesignator(name, this.updateStorage);
        await fd.writeFromStream(new Blob([bytes as unknown as ArrayBuffer]).stream() as never);
        this.#watchTransfer(ctx, peerAddress);
        return { newSoftwareVersion: image.header.softwareVersion, newSoftwareVersionString: image.header.softwareVersionString, fileDesignator: fd, consentRequired: false };
    }

    /** Records every BDX session of the peer after its query (matter.js retries a failed download up to 3 times). */
    #watchTransfer(ctx: ProviderContext, peerAddress: PeerAddress) {
        const bdx = this.env.get(BdxProtocol);
        const key = String(peerAddress.nodeId);
        ctx.watchers.get(key)?.();
        const t0 = performance.now();
        const listener = (session: BdxSession) => {
            if (session.peerAddress.nodeId !== peerAddress.nodeId) return;
            const record: TransferRecord = { nodeId: BigInt(peerAddress.nodeId), bytes: 0, ms: 0, finished: false };
            ctx.transfers.push(record);
            session.progressInfo.on(() => {
                record.bytes = Number(session.transferredBytes ?? 0);
                record.ms = performance.now() - t0;
            });
            session.progressCancelled.on(() => {
                record.aborted = true;
            });
            session.progressFinished.on(bytes => {
                record.bytes = Number(bytes);
                record.ms = performance.now() - t0;
                record.finished = true;
                stop();
            });
        };
        const stop = () => {
            bdx.sessionStarted.off(listener);
            if (ctx.watchers.get(key) === stop) ctx.watchers.delete(key);
        };
        ctx.watchers.set(key, stop);
        bdx.sessionStarted.on(listener);
    }

    override notifyUpdateApplied(request: OtaSoftwareUpdateProvider.NotifyUpdateAppliedRequest): void {
        const session = (this.context as unknown as { session?: { peerAddress?: PeerAddress } }).session;
        this.env.get(ProviderContext).applied.push({ nodeId: BigInt(session?.peerAddress?.nodeId ?? 0), softwareVersion: request.softwareVersion });
        super.notifyUpdateApplied(request);
    }

    /** Proceed at once: the harness is the user who consented (matter.js's default would need its update queue). */
    override async applyUpdateRequest(_request: OtaSoftwareUpdateProvider.ApplyUpdateRequest): Promise<OtaSoftwareUpdateProvider.ApplyUpdateResponse> {
        const session = (this.context as unknown as { session?: unknown }).session as { peerAddress: PeerAddress } | undefined;
        if (session?.peerAddress) {
            await this.env.get(BdxProtocol).disablePeerForScope(session.peerAddress, this.updateStorage, false).catch(() => undefined);
        }
        return { action: OtaSoftwareUpdateProvider.ApplyUpdateAction.Proceed, delayedActionTime: 0 };
    }
}

export const HarnessOtaProviderEndpoint = OtaProviderEndpoint.with(HarnessOtaProviderServer);

export interface OtaProviderOptions {
    /** Images: OTA file bytes, file paths or directories (every *.ota / *.bin that decodes as a Matter OTA file). */
    images?: Array<Uint8Array | string>;
    fabricLabel?: string;
    faults?: ProviderFaults;
}

export interface ProviderCommissionRequest {
    address: DeviceAddress;
    passcode: number;
    /** The strict attestation hook; without it matter.js's own checks run and every finding is accepted. */
    attestation?: AttestationHook;
}

/** Loads images from bytes, files and directories; refuses anything that is not a Matter OTA file. */
export async function loadOtaImages(sources: ReadonlyArray<Uint8Array | string>): Promise<ProvidedImage[]> {
    const out: ProvidedImage[] = [];
    const add = (name: string, bytes: Uint8Array) => {
        const decoded = decodeOtaImage(bytes);
        out.push({ name, bytes, header: decoded.header });
    };
    for (const [i, s] of sources.entries()) {
        if (typeof s !== "string") {
            add(`image-${i}`, s);
            continue;
        }
        const st = await stat(s).catch(() => undefined);
        if (!st) throw new DiagnosticError("ENOENT", `no such file or directory`, { file: s });
        if (st.isDirectory()) {
            for (const f of (await readdir(s)).sort()) {
                if (!/\.(ota|bin)$/i.test(f)) continue;
                add(f, new Uint8Array(await readFile(join(s, f))));
            }
        } else {
            add(s, new Uint8Array(await readFile(s)));
        }
    }
    return out;
}

let nextNodeId = 0;

export class OtaProvider {
    readonly node: ServerNode;
    readonly #fabric: Fabric;
    readonly #ctx: ProviderContext;
    readonly #endpoint: Endpoint;

    private constructor(node: ServerNode, fabric: Fabric, ctx: ProviderContext, endpoint: Endpoint) {
        this.node = node;
        this.#fabric = fabric;
        this.#ctx = ctx;
        this.#endpoint = endpoint;
    }

    static async start(options: OtaProviderOptions = {}): Promise<OtaProvider> {
        const ctx = new ProviderContext();
        ctx.images.push(...(await loadOtaImages(options.images ?? [])));
        ctx.faults = { ...(options.faults ?? {}) };
        const environment = createNodeEnvironment("mfgsim-ota-provider", { storage: new MemoryStorageBackend() });
        environment.set(ProviderContext, ctx);
        const endpoint = new Endpoint(HarnessOtaProviderEndpoint, {
            id: "ota-provider",
            softwareupdates: { allowTestOtaImages: true, announceAsDefaultProvider: false },
        } as never);
        const { node, fabric } = await startControllerNode({
            id: "mfgsim-ota-provider",
            environment,
            fabricLabel: options.fabricLabel ?? "mfgsim-ota",
            productId: 0x8001,
            productName: "mfgsim OTA provider",
            parts: [endpoint],
        });
        return new OtaProvider(node, fabric, ctx, endpoint);
    }

    get port(): number {
        return this.node.state.network.operationalPort;
    }

    get nodeId(): bigint {
        return BigInt(this.#fabric.rootNodeId);
    }

    get endpointNumber(): number {
        return this.#endpoint.number;
    }

    get queries(): readonly QueryRecord[] {
        return this.#ctx.queries;
    }

    get transfers(): readonly TransferRecord[] {
        return this.#ctx.transfers;
    }

    /** NotifyUpdateApplied commands received so far. */
    get applied(): ReadonlyArray<{ nodeId: bigint; softwareVersion: number }> {
        return this.#ctx.applied;
    }

    get aborts(): number {
        return this.#ctx.aborts;
    }

    /** Transfers opened while `faults.stallAfterBytes` was set (each stalls there unless the file is shorter). */
    get stalled(): number {
        return this.#ctx.stalled;
    }

    /**
     * The reads stalled so far fail: the provider's BDX sessions answer the requestor with a StatusReport
     * (TransferFailedUnknownError). The fault itself stays until `faults` is set again, so a retry stalls anew.
     * Returns how many reads were waiting.
     */
    releaseStalls(): number {
        const waiting = [...this.#ctx.stalls];
        this.#ctx.stalls.clear();
        for (const release of waiting) release();
        return waiting.length;
    }

    /**
     * Gives up on stalled transfers like an operator restarting a hung provider: the stalled reads and the
     * requestor's remaining attempts of that query (matter.js makes 3) fail with a StatusReport, so the requestor
     * goes Idle (ChangeReason Failure) instead of waiting out its 5-minute BDX idle timeout. For that the stall
     * (and any abort) fault becomes "abort at byte 0, three times"; performOta puts the caller's other faults back
     * once the requestor is Idle. Returns how many reads were waiting.
     */
    failStalledTransfers(): number {
        this.#ctx.faults = { ...this.#ctx.faults, stallAfterBytes: undefined, abortAfterBytes: 0, abortCount: 3 };
        return this.releaseStalls();
    }

    get images(): readonly ProvidedImage[] {
        return this.#ctx.images;
    }

    get faults(): ProviderFaults {
        return { ...this.#ctx.faults };
    }

    set faults(f: ProviderFaults) {
        this.#ctx.faults = { ...f };
    }

    async addImages(sources: ReadonlyArray<Uint8Array | string>): Promise<ProvidedImage[]> {
        const imgs = await loadOtaImages(sources);
        this.#ctx.images.push(...imgs);
        return imgs;
    }

    clearImages(): void {
        this.#ctx.images.length = 0;
    }

    address(nodeId: bigint): PeerAddress {
        return this.#fabric.addressOf(NodeId(nodeId));
    }

    /** Where the device listens now (after every reboot: the harness's discovery instead of mDNS). */
    setDeviceAddress(nodeId: bigint, address: DeviceAddress): void {
        assertLoopback(address);
        const peer = this.node.env.get(PeerSet).for(this.address(nodeId));
        peer.descriptor.operationalAddress = { type: "udp", ip: address.ip, port: address.port };
    }

    /** Drops sessions to a node (before its device restarts). */
    async disconnect(nodeId: bigint): Promise<void> {
        await this.node.env.get(PeerSet).get(this.address(nodeId))?.disconnect(new Error("device restarting"));
    }

    /** PASE → attestation → NOC → CASE; returns the node id. Throws DiagnosticError(code) on failure. */
    async commission(request: ProviderCommissionRequest): Promise<bigint> {
        assertLoopback(request.address);
        const commissioner = this.node.env.get(ControllerCommissioner);
        const state = new FlowState();
        let assigned: bigint | undefined;
        const flow = request.attestation
            ? strictFlowClass({
                  attestation: request.attestation,
                  state,
                  coveredFindings: new Set(DEFAULT_COVERED_FINDINGS),
                  beforeCase: (address: PeerAddress) => this.setDeviceAddress(BigInt(address.nodeId), request.address),
              } as never)
            : undefined;
        try {
            const { address } = await commissioner.commission({
                addresses: [{ type: "udp", ip: request.address.ip, port: request.address.port }],
                fabric: this.#fabric,
                passcode: request.passcode,
                ...(flow ? { commissioningFlowImpl: flow, onAttestationFailure: () => false } : {}),
                timeout: Millis(10_000),
                caseConnectionTiming: {},
                claimNodeIdAfterPase: async () => {
                    const id = 0x10000n + BigInt(++nextNodeId);
                    assigned = id;
                    // after matter.js registered the node id: point CASE at the device (no mDNS)
                    setTimeout(() => this.setDeviceAddress(id, request.address), 0);
                    return NodeId(assigned);
                },
            } as never);
            return BigInt(address.nodeId);
        } catch (e) {
            const code = state.failure?.error ?? (e instanceof DiagnosticError ? e.code : "CHIP_ERROR_INTERNAL");
            throw new DiagnosticError(code, `commissioning for OTA failed: ${state.failure?.message ?? (e as Error).message}`);
        } finally {
            void assigned;
        }
    }

    /** The requestor client on the device's endpoint 0 (over CASE). */
    async #requestorOf(nodeId: bigint) {
        const client = await this.node.peers.forAddress(this.address(nodeId));
        const ep = client.endpoints.require(0);
        ep.behaviors.require(OtaSoftwareUpdateRequestorClient);
        return ep;
    }

    /** AnnounceOTAProvider(UpdateAvailable): the requestor queries after its (controllable) "OTA Request" timer. */
    async announce(nodeId: bigint, reason: OtaSoftwareUpdateRequestor.AnnouncementReason = OtaSoftwareUpdateRequestor.AnnouncementReason.UpdateAvailable): Promise<void> {
        const ep = await this.#requestorOf(nodeId);
        await ep.commandsOf(OtaSoftwareUpdateRequestorClient).announceOtaProvider({
            providerNodeId: NodeId(this.nodeId),
            vendorId: 0xfff1 as never,
            announcementReason: reason,
            endpoint: this.endpointNumber as never,
        });
    }

    /** Reads Basic Information over a fresh CASE session (what the self-test and the gate's check compare). */
    async readBasicInformation(nodeId: bigint): Promise<{ softwareVersion?: number; softwareVersionString?: string; vendorId?: number; productId?: number }> {
        return readBasicInformationOf(this.node, this.address(nodeId), ["vendorId", "productId", "softwareVersion", "softwareVersionString"]);
    }

    close(): Promise<void> {
        this.releaseStalls(); // a stalled read would keep its BDX session (and the node's close) waiting
        return this.node.close();
    }
}
