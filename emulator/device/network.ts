/**
 * A matter.js `Network` that keeps a virtual device (or the harness's commissioner) on loopback.
 *
 * - Matter UDP sockets are real Node.js sockets, but always bound to 127.0.0.1 (udp4) or ::1 (udp6), whatever
 *   address matter.js asks for, and they refuse to send to anything but a loopback address.
 * - mDNS (port 5353, multicast membership, per-interface sockets) gets an in-memory socket that never sends or
 *   receives: matter.js's advertiser and scanner run, but no multicast ever leaves the process. Discovery is the
 *   harness's business (a registry of virtual devices), not the LAN's.
 * - No network interfaces are reported, so matter.js never enumerates the host's real interfaces for multicast.
 */
import {
    ChannelType,
    Environment,
    Network,
    NetworkError,
    type NetworkInterface,
    type NetworkInterfaceDetails,
    type Transport,
    type UdpSocket,
    type UdpSocketOptions,
} from "@matter/main";
import { prng } from "../esp_common/prng.js";

export const MDNS_PORT = 5353;

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
export function isLoopbackAddress(host: string): boolean {
    const h = host.replace(/^\[|\]$/g, "").replace(/%.*$/, "").toLowerCase();
    if (h === "::1" || h === "localhost") return true;
    const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
    return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** A socket that accepts everything and delivers nothing: what mDNS gets on a virtual device. */
class NullUdpSocket implements UdpSocket {
    readonly maxPayloadSize = 1280;
    readonly #type: UdpSocketOptions["type"];
    readonly #port: number;
    /** Messages matter.js tried to multicast; counted so tests can prove nothing was sent for real. */
    static dropped = 0;

    constructor(options: UdpSocketOptions) {
        this.#type = options.type;
        this.#port = options.listeningPort ?? 0;
    }
    addMembership(): void {}
    dropMembership(): void {}
    onData(): Transport.Listener {
        return { close: async () => {} };
    }
    async send(): Promise<void> {
        NullUdpSocket.dropped++;
    }
    async close(): Promise<void> {}
    get port(): number {
        return this.#port;
    }
    supports(type: ChannelType, address?: string): boolean {
        if (type !== ChannelType.UDP) return false;
        if (address === undefined) return true;
        return this.#type === "udp4" ? !address.includes(":") : address.includes(":");
    }
}

/**
 * Faults on the loopback path, applied to every datagram this node sends (a scenario's "bad Wi-Fi"): each is
 * decided by a PRNG seeded from `seed`, so a run replays exactly. The object is read at every send: change it
 * while the device runs to start or stop the trouble.
 */
export interface NetworkFaults {
    seed?: number;
    /** Probability (0..1) that a datagram is lost. */
    drop?: number;
    /** Probability (0..1) that a datagram is sent twice. */
    duplicate?: number;
    /** Extra latency per datagram in ms, fixed or uniformly drawn from [min, max] (reorders packets). */
    delayMs?: number | [number, number];
    /** Counters, updated as faults are applied. */
    stats?: { sent: number; dropped: number; duplicated: number; delayed: number };
}

/** Wraps a real socket: refuses any destination that is not loopback (defence in depth), applies NetworkFaults. */
class LoopbackOnlyUdpSocket implements UdpSocket {
    readonly #random: () => number;

    constructor(
        private readonly inner: UdpSocket,
        private readonly faults?: NetworkFaults,
    ) {
        this.#random = prng(faults?.seed ?? 1);
    }
    get maxPayloadSize() {
        return this.inner.maxPayloadSize;
    }
    addMembership(): void {
        throw new NetworkError("multicast membership refused: virtual devices stay on loopback");
    }
    dropMembership(): void {}
    onData(listener: UdpSocket.Callback): Transport.Listener {
        return this.inner.onData(listener);
    }
    async send(host: string, port: number, data: Uint8Array): Promise<void> {
        if (!isLoopbackAddress(host)) {
            throw new NetworkError(`refusing to send to ${host}:${port}: virtual devices stay on loopback`);
        }
        const f = this.faults;
        if (!f) return this.inner.send(host, port, data);
        const stats = (f.stats ??= { sent: 0, dropped: 0, duplicated: 0, delayed: 0 });
        stats.sent++;
        if (f.drop && this.#random() < f.drop) {
            stats.dropped++;
            return; // lost on the way: UDP does not tell the sender
        }
        const copies = f.duplicate && this.#random() < f.duplicate ? 2 : 1;
        if (copies === 2) stats.duplicated++;
        const delay = f.delayMs === undefined ? 0 : Array.isArray(f.delayMs) ? f.delayMs[0] + this.#random() * (f.delayMs[1] - f.delayMs[0]) : f.delayMs;
        const bytes = Uint8Array.from(data);
        const deliver = () => {
            for (let i = 0; i < copies; i++) this.inner.send(host, port, bytes).catch(() => undefined);
        };
        if (delay > 0) {
            stats.delayed++;
            setTimeout(deliver, delay).unref?.();
        } else {
            deliver();
        }
    }
    close(): Promise<void> {
        return this.inner.close();
    }
    get port(): number {
        return this.inner.port;
    }
    supports(type: ChannelType, address?: string): boolean {
        return this.inner.supports(type, address);
    }
}

export class LoopbackNetwork extends Network {
    readonly #real: Network;

    readonly #faults?: NetworkFaults;

    /**
     * `real` defaults to the platform network of `Environment.default` (NodeJsNetwork on Node.js); `faults` applies
     * to every datagram this node sends.
     */
    constructor(real?: Network, faults?: NetworkFaults) {
        super();
        this.#real = real ?? Environment.default.get(Network);
        this.#faults = faults;
    }

    static get droppedMulticastMessages(): number {
        return NullUdpSocket.dropped;
    }

    getNetInterfaces(_configuration?: NetworkInterface[]): NetworkInterface[] {
        return [];
    }

    getIpMac(_netInterface: string): NetworkInterfaceDetails | undefined {
        return undefined;
    }

    async createUdpSocket(options: UdpSocketOptions): Promise<UdpSocket> {
        if (options.listeningPort === MDNS_PORT || options.netInterface !== undefined || options.reuseAddress) {
            return new NullUdpSocket(options);
        }
        if (options.type === "udp") {
            // Dual-stack sockets would listen on every address: use an explicit family instead.
            options = { ...options, type: "udp6" };
        }
        const listeningAddress = options.type === "udp4" ? "127.0.0.1" : "::1";
        const socket = await this.#real.createUdpSocket({ ...options, listeningAddress });
        return new LoopbackOnlyUdpSocket(socket, this.#faults);
    }
}
