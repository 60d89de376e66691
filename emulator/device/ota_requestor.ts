/**
 * The OTA Requestor of the virtual ESP32 (esp-matter's OTAImageProcessorImpl in matter.js terms): a subclass of
 * matter.js's OtaSoftwareUpdateRequestorServer whose validation streams the downloaded BDX file through the
 * Matter image verifier (VID/PID, newer version, min/max applicable, digest) and, payload block by payload block,
 * into the inactive OTA slot through esp_ota_ops (erase + write, flash-encrypted by the chip when encryption is on);
 * esp_ota_end verifies the ESP app image (checksum, hash or Secure Boot V2 signature). applyUpdate then calls
 * esp_ota_set_boot_partition (anti-rollback check, otadata state NEW) and asks the platform to reboot.
 *
 * The platform (the chip and what happens on reboot / power loss) is handed in through the node's environment
 * (`OtaPlatformRef`), so the behavior stays a plain matter.js behavior; `otaRequestorOptions(platform)` puts both
 * on the root endpoint when the device starts. After the reboot into the new image matter.js's own requestor code
 * emits VersionApplied and calls NotifyUpdateApplied on the provider (its persisted updateInProgressDetails). Timers: `controlOtaTimers()` shortens the
 * matter.js timers named "OTA Request" / "OTAUpdate…" (30 s after commissioning, 1–600 s after an announcement,
 * 2–12 min after a restart) so tests never wait for real.
 */
import { type Environment, MatterError, Millis, Node, Time, type Timer } from "@matter/main";
import { BasicInformationBehavior } from "@matter/main/behaviors/basic-information";
import { OperationalCredentialsBehavior } from "@matter/main/behaviors/operational-credentials";
import { OtaSoftwareUpdateRequestorServer } from "@matter/main/behaviors/ota-software-update-requestor";
import { PeerSet, type PersistedFileDesignator, PeerAddress } from "@matter/main/protocol";
import { FabricIndex, NodeId } from "@matter/main/types";
import { DiagnosticError } from "../esp_common/err.js";
import type { EspOta, OtaEndResult, OtaHandle } from "../app_update/esp_ota_ops.js";
import type { PartitionEntry } from "../esp_partition/index.js";
import { OTA_FIXED_HEADER_SIZE, otaHeaderLength, type OtaExpectations, type OtaImageHeader, OtaImageVerifier, type OtaRejection } from "../ota_image/index.js";
import type { RunningDevice } from "./device.js";

/** The image was refused: `code` is the rejection (VendorIdMismatch, NotNewer, DigestMismatch, …) or the esp_err_t. */
export class OtaRefusedError extends DiagnosticError {
    override name = "OtaRefusedError";
    readonly rejections: OtaRejection[];
    constructor(code: string, message: string, rejections: OtaRejection[] = []) {
        super(code, message);
        this.rejections = rejections;
    }
}

/**
 * Streams a Matter OTA file into the next OTA slot: header checks before anything is erased, payload to
 * esp_ota_write as it arrives, digest + esp_ota_end at the end. Nothing touches otadata.
 */
export class OtaImageInstaller {
    readonly #ota: EspOta;
    readonly #verifier: OtaImageVerifier;
    #seen = 0;
    #payloadStart?: number;
    #handle?: OtaHandle;
    #target?: PartitionEntry;
    #failed?: OtaRefusedError;
    #first = new Uint8Array(0);

    constructor(ota: EspOta, expect: OtaExpectations) {
        this.#ota = ota;
        this.#verifier = new OtaImageVerifier(expect);
    }

    get target(): PartitionEntry | undefined {
        return this.#target;
    }

    get header(): OtaImageHeader | undefined {
        return this.#verifier.header;
    }

    update(chunk: Uint8Array): void {
        if (this.#failed) throw this.#failed;
        const at = this.#seen;
        this.#seen += chunk.length;
        if (this.#first.length < OTA_FIXED_HEADER_SIZE) {
            const joined = new Uint8Array(this.#first.length + chunk.length);
            joined.set(this.#first);
            joined.set(chunk, this.#first.length);
            this.#first = joined.subarray(0, Math.min(joined.length, OTA_FIXED_HEADER_SIZE));
        }
        this.#verifier.update(chunk);
        if (this.#payloadStart === undefined) {
            if (this.#verifier.header === undefined) {
                const rej = this.#verifier.headerRejections;
                if (rej.length) this.#refuse(rej);
                return;
            }
            const rej = this.#verifier.headerRejections;
            if (rej.length) this.#refuse(rej);
            this.#payloadStart = otaHeaderLength(this.#first) ?? OTA_FIXED_HEADER_SIZE;
            this.#target = this.#ota.getNextUpdatePartition();
            this.#handle = this.#ota.begin(this.#target, this.#verifier.header.payloadSize);
        }
        const from = Math.max(0, this.#payloadStart - at);
        if (from < chunk.length) this.#ota.write(this.#handle!, chunk.subarray(from));
    }

    /** Digest and size checks, then esp_ota_end (image verify incl. secure boot). */
    finish(): { header: OtaImageHeader; end: OtaEndResult; target: PartitionEntry } {
        if (this.#failed) throw this.#failed;
        const r = this.#verifier.finish();
        if (!r.ok || !r.header) {
            if (this.#handle) this.#ota.abort(this.#handle);
            this.#refuse(r.rejections.length ? r.rejections : [{ reason: "Truncated", code: "CHIP_ERROR_BUFFER_TOO_SMALL", message: "empty image" }]);
        }
        let end: OtaEndResult;
        try {
            end = this.#ota.end(this.#handle!);
        } catch (e) {
            if (e instanceof DiagnosticError && e.code !== "POWER_LOSS") throw new OtaRefusedError(e.code, e.message);
            throw e;
        }
        return { header: r.header!, end, target: this.#target! };
    }

    #refuse(rejections: readonly OtaRejection[]): never {
        if (this.#handle) this.#ota.abort(this.#handle);
        const first = rejections[0]!;
        this.#failed = new OtaRefusedError(first.code, first.message, [...rejections]);
        throw this.#failed;
    }
}

/** Feeds a whole stream of chunks through an installer, then finishes it. */
export async function installOtaStream(
    installer: OtaImageInstaller,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<ReturnType<OtaImageInstaller["finish"]>> {
    for await (const c of chunks as AsyncIterable<Uint8Array>) installer.update(c);
    return installer.finish();
}

export interface OtaEvent {
    kind: "refused" | "installed" | "boot-partition-set" | "power-loss" | "error" | "version-applied";
    code?: string;
    message: string;
    softwareVersion?: number;
}

/** What the requestor needs from the device it runs on. */
export interface OtaPlatform {
    /** esp_ota_ops on the chip, configured with the running slot, secure boot and anti-rollback. */
    readonly ota: EspOta;
    /** The chip rebooted: the new otadata is in place. Called once, after the command path returned. */
    reboot(reason: string): void;
    /** Power was lost during a flash operation: the device is dead until the harness powers it on again. */
    powerLost(error: DiagnosticError): void;
    /** Every requestor decision, for the harness's report. */
    record?(event: OtaEvent): void;
    /**
     * Operational addresses of peers (the OTA provider) the device reaches without mDNS: the harness's discovery.
     * Read when the node comes online (before matter.js's requestor notifies the provider of an applied update).
     */
    peers?(): ReadonlyArray<{ nodeId: bigint; ip: string; port: number }>;
    /** Every UpdateState transition as it happens (OtaSoftwareUpdateRequestor.UpdateState / ChangeReason numbers). */
    stateChanged?(state: number, reason: number): void;
    /** Keep the requestor's update-in-progress record (target version, provider, token) across the reboot (NVS). */
    saveUpdateInProgress?(details: unknown): void;
    loadUpdateInProgress?(): unknown;
}

/** Environment slot that carries the platform to the behavior. */
export class OtaPlatformRef {
    installed?: { target: PartitionEntry; softwareVersion: number };
    constructor(readonly platform: OtaPlatform) {}
}

class OtaInstallFailed extends MatterError {
    constructor(readonly code: string, message: string) {
        super(`${code}: ${message}`);
    }
}

function isPowerLoss(e: unknown): e is DiagnosticError {
    return e instanceof DiagnosticError && e.code === "POWER_LOSS";
}

export class EspOtaRequestorServer extends OtaSoftwareUpdateRequestorServer {
    override async initialize() {
        // registered before matter.js's own reactors: the provider's address is known when its #online runs
        const node = Node.forEndpoint(this.endpoint);
        this.reactTo(node.lifecycle.online, this.#routePeers);
        // a plain observer (synchronous, no transaction): matter.js emits this from its own online reactor
        const platform = this.env.get(OtaPlatformRef).platform;
        // matter.js 0.17.9 does not write updateInProgressDetails to storage (the node comes back with null): the
        // firmware keeps it in its own NVS key like esp-matter's requestor does, and hands it back before the node
        // goes online, so matter.js's own code emits VersionApplied and sends NotifyUpdateApplied.
        const saved = platform.loadUpdateInProgress?.();
        if (saved && this.state.updateInProgressDetails === null) this.state.updateInProgressDetails = saved as never;
        platform.saveUpdateInProgress?.(null);
        // the live state (the committed attribute only changes when matter.js's long query/download reactor ends)
        this.events.stateTransition.on(t => platform.stateChanged?.(t.newState, t.reason));
        this.events.versionApplied.on(event => {
            platform.record?.({ kind: "version-applied", message: `VersionApplied event: SoftwareVersion ${event.softwareVersion} (ProductID 0x${event.productId.toString(16)})`, softwareVersion: event.softwareVersion });
        });
        await super.initialize();
    }

    #routePeers() {
        const platform = this.env.get(OtaPlatformRef).platform;
        const fabrics = (this.endpoint.stateOf(OperationalCredentialsBehavior).fabrics ?? []) as unknown as Array<{ fabricIndex: number }>;
        for (const p of platform.peers?.() ?? []) routePeer(this.env, fabrics, p.nodeId, p);
    }

    protected override async validateUpdateFile(newSoftwareVersion?: number) {
        try {
            return await this.#validate(newSoftwareVersion);
        } finally {
            // matter.js caches the download designator and its opened blob: the next download would be read back as
            // this one (a refused image would be refused again). A fresh designator per download.
            (this.internal as { downloadLocation?: unknown }).downloadLocation = undefined;
        }
    }

    async #validate(newSoftwareVersion?: number) {
        const ref = this.env.get(OtaPlatformRef);
        const { platform } = ref;
        if (newSoftwareVersion === undefined) {
            // a file left over from an earlier run: never applied without a fresh transfer
            throw new OtaInstallFailed("CHIP_ERROR_INCORRECT_STATE", "stale downloaded image discarded");
        }
        const basic = this.endpoint.stateOf(BasicInformationBehavior);
        const installer = new OtaImageInstaller(platform.ota, { vendorId: basic.vendorId, productId: basic.productId, currentVersion: basic.softwareVersion });
        try {
            const blob = await (await this.getDownloadLocation()).openBlob();
            const reader = blob.stream().getReader();
            const chunks = (async function* () {
                while (true) {
                    const { done, value } = await reader.read();
                    if (done) return;
                    yield value as Uint8Array;
                }
            })();
            const r = await installOtaStream(installer, chunks);
            if (r.header.softwareVersion !== newSoftwareVersion) {
                throw new OtaRefusedError("CHIP_ERROR_INCORRECT_STATE", `image SoftwareVersion ${r.header.softwareVersion} is not the offered ${newSoftwareVersion}`);
            }
            ref.installed = { target: r.target, softwareVersion: r.header.softwareVersion };
            platform.record?.({ kind: "installed", message: `image ${r.header.softwareVersionString} in ${r.target.name} (${r.end.imageLength} bytes, verified)`, softwareVersion: r.header.softwareVersion });
            return await super.validateUpdateFile(newSoftwareVersion);
        } catch (e) {
            ref.installed = undefined;
            if (isPowerLoss(e)) {
                platform.record?.({ kind: "power-loss", code: e.code, message: e.message });
                platform.powerLost(e);
            } else if (e instanceof DiagnosticError) {
                platform.record?.({ kind: "refused", code: e.code, message: e.message });
            } else {
                platform.record?.({ kind: "error", code: "CHIP_ERROR_INTERNAL", message: (e as Error)?.message ?? String(e) });
            }
            if (e instanceof MatterError) throw e;
            throw new OtaInstallFailed(e instanceof DiagnosticError ? e.code : "CHIP_ERROR_INTERNAL", (e as Error)?.message ?? String(e));
        }
    }

    protected override async applyUpdate(newSoftwareVersion: number, _fileDesignator: PersistedFileDesignator) {
        const ref = this.env.get(OtaPlatformRef);
        const { platform } = ref;
        const installed = ref.installed;
        if (!installed || installed.softwareVersion !== newSoftwareVersion) {
            platform.record?.({ kind: "error", code: "CHIP_ERROR_INCORRECT_STATE", message: `no verified image of version ${newSoftwareVersion} in an OTA slot` });
            return;
        }
        try {
            const set = platform.ota.setBootPartition(installed.target);
            platform.record?.({ kind: "boot-partition-set", message: `esp_ota_set_boot_partition(${installed.target.name}): otadata[${set.sector}] seq ${set.seq} ${set.state}`, softwareVersion: newSoftwareVersion });
        } catch (e) {
            if (isPowerLoss(e)) {
                platform.record?.({ kind: "power-loss", code: e.code, message: e.message });
                platform.powerLost(e);
                return;
            }
            const code = e instanceof DiagnosticError ? e.code : "CHIP_ERROR_INTERNAL";
            platform.record?.({ kind: "refused", code, message: (e as Error).message });
            ref.installed = undefined;
            return;
        }
        ref.installed = undefined;
        platform.saveUpdateInProgress?.(this.state.updateInProgressDetails ?? { newSoftwareVersion });
        // esp_restart() after the response went out
        setTimeout(() => platform.reboot(`OTA to ${newSoftwareVersion}`), 5);
    }
}

/**
 * What startDevice / startFirmware need to run the requestor on the root endpoint from the start:
 * `{ rootBehaviors, configureEnvironment }` (spread into DeviceOptions / FirmwareOptions).
 */
export function otaRequestorOptions(platform: OtaPlatform): { ref: OtaPlatformRef; rootBehaviors: [typeof EspOtaRequestorServer]; configureEnvironment: (env: Environment) => void } {
    const ref = new OtaPlatformRef(platform);
    return { ref, rootBehaviors: [EspOtaRequestorServer], configureEnvironment: env => env.set(OtaPlatformRef, ref) };
}

function routePeer(env: Environment, fabrics: ReadonlyArray<{ fabricIndex: number }>, nodeId: bigint, address: { ip: string; port: number }): void {
    const peers = env.get(PeerSet);
    for (const f of fabrics) {
        const pa = PeerAddress({ nodeId: NodeId(nodeId), fabricIndex: FabricIndex(f.fabricIndex) });
        peers.for(pa).descriptor.operationalAddress = { type: "udp", ip: address.ip, port: address.port };
    }
}

/** Tells the device where an operational peer (the OTA provider) listens: the harness's discovery, no mDNS. */
export function setPeerOperationalAddress(device: RunningDevice, nodeId: bigint, address: { ip: string; port: number }): void {
    const fabrics = (device.node.state.operationalCredentials.fabrics ?? []) as unknown as Array<{ fabricIndex: number }>;
    routePeer(device.node.env, fabrics, nodeId, address);
}

/** Handle on the shortened OTA timers. */
export interface OtaTimerControl {
    /** The next `count` matching timers (default 1) fire after `delayMs` instead of their spec delay. */
    arm(count?: number): void;
    disarm(): void;
    /** Puts the default clock back. */
    restore(): void;
}

/**
 * Controllable OTA timers: while armed, matter.js's timers named "OTA Request" and "OTAUpdate…" with a spec delay
 * of at most 15 minutes (30 s after commissioning, 1–600 s after an announcement, 2–12 min after a restart) run
 * after `delayMs`. The 24 h periodic query keeps its real delay, so a failed update never loops.
 */
export function controlOtaTimers(options: { delayMs?: number; match?: RegExp } = {}): OtaTimerControl {
    const base = Time.default;
    const match = options.match ?? /^OTA( Request|Update)/;
    const delay = Millis(options.delayMs ?? 1);
    let armed = 0;
    const wrapped = Object.create(base) as Time;
    wrapped.getTimer = (name: string, duration, callback): Timer => {
        if (armed > 0 && match.test(name) && duration <= 15 * 60_000) {
            armed--;
            return base.getTimer(name, delay, callback);
        }
        return base.getTimer(name, duration, callback);
    };
    Time.default = wrapped;
    return {
        arm: (count = 1) => void (armed = count),
        disarm: () => void (armed = 0),
        restore: () => {
            armed = 0;
            if (Time.default === wrapped) Time.default = base;
        },
    };
}
