/**
 * The harness's own discovery: where each virtual device listens. Operational discovery (fabric + node id →
 * address) answers from here instead of mDNS, so nothing is ever multicast.
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { isLoopbackAddress } from "../../emulator/device/network.js";

export interface DeviceAddress {
    ip: string;
    port: number;
}

function key(fabricId: bigint | number, nodeId: bigint | number) {
    return `${BigInt(fabricId).toString(16)}/${BigInt(nodeId).toString(16)}`;
}

export function assertLoopback(address: DeviceAddress, field = "address"): void {
    if (!isLoopbackAddress(address.ip)) {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ADDRESS", `${address.ip} is not a loopback address: virtual devices live on 127.0.0.1 / ::1`, { field });
    }
    if (!Number.isInteger(address.port) || address.port < 1 || address.port > 65535) {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ADDRESS", `port ${address.port} out of range 1..65535`, { field });
    }
}

/** What a commissionable device would advertise in its _matterc._udp TXT records. */
export interface CommissionableAdvertisement {
    discriminator: number;
    vendorId?: number;
    productId?: number;
}

export class DeviceRegistry {
    readonly #operational = new Map<string, DeviceAddress>();
    readonly #commissionable = new Map<string, CommissionableAdvertisement>();

    /** Record what the device at `address` advertises while its commissioning window is open. */
    setCommissionable(address: DeviceAddress, advertisement: CommissionableAdvertisement): void {
        assertLoopback(address);
        this.#commissionable.set(`${address.ip}|${address.port}`, { ...advertisement });
    }

    resolveCommissionable(address: DeviceAddress): CommissionableAdvertisement | undefined {
        return this.#commissionable.get(`${address.ip}|${address.port}`);
    }

    forgetCommissionable(address: DeviceAddress): void {
        this.#commissionable.delete(`${address.ip}|${address.port}`);
    }

    /** Record (or update, e.g. after a device restart on another port) where an operational node listens. */
    setOperational(fabricId: bigint | number, nodeId: bigint | number, address: DeviceAddress): void {
        assertLoopback(address);
        this.#operational.set(key(fabricId, nodeId), { ip: address.ip, port: address.port });
    }

    resolveOperational(fabricId: bigint | number, nodeId: bigint | number): DeviceAddress | undefined {
        return this.#operational.get(key(fabricId, nodeId));
    }

    forget(fabricId: bigint | number, nodeId: bigint | number): void {
        this.#operational.delete(key(fabricId, nodeId));
    }

    get size(): number {
        return this.#operational.size;
    }
}
