/**
 * The "firmware" of a virtual ESP32 Matter device: a matter.js ServerNode configured only from factory data,
 * the app image's version and the device's own storage, reachable over real UDP on loopback.
 *
 * Hooks into matter.js (public extension points only):
 * - `FactoryCommissioningServer` (CommissioningServer subclass): after the basic commissioning window opens, PASE is
 *   served from the stored SPAKE2+ verifier/salt/iterations instead of a passcode; the QR/manual code is never logged.
 * - `FactoryAdministratorCommissioningServer`: same for AdministratorCommissioning.OpenBasicCommissioningWindow.
 * - `operationalCredentials.certification` carries DAC/PAI/CD/key from factory data; the data is validated before
 *   the node is created, so matter.js's built-in test credentials can never be used.
 * - A per-node root Environment with a loopback-only Network (no mDNS on any interface) and the given storage.
 */
import { type Behavior, CommissioningServer, Endpoint, type Environment, Logger, PrivateKey, ServerNode } from "@matter/main";
import { AdministratorCommissioningServer } from "@matter/main/behaviors/administrator-commissioning";

import { OnOffLightDevice } from "@matter/main/devices/on-off-light";
import { OnOffPlugInUnitDevice } from "@matter/main/devices/on-off-plug-in-unit";
import { DimmableLightDevice } from "@matter/main/devices/dimmable-light";
import { ContactSensorDevice } from "@matter/main/devices/contact-sensor";
import { PaseServer, SecureChannelProtocol, SessionManager } from "@matter/main/protocol";
import { DiagnosticError } from "../esp_common/err.js";
import { createNodeEnvironment } from "./environment.js";
import { validateFactoryData, type CheckedCredentials, type DeviceFactoryData, type FirmwareInfo } from "./factory-data.js";
import type { DeviceStorageBackend } from "./storage.js";
import type { NetworkFaults } from "./network.js";

const logger = Logger.get("VirtualDevice");

/** Device types a virtual device can expose on endpoint 1. */
export const DEVICE_TYPES = {
    "on-off-light": OnOffLightDevice,
    "on-off-plug-in-unit": OnOffPlugInUnitDevice,
    "dimmable-light": DimmableLightDevice,
    "contact-sensor": ContactSensorDevice,
} as const;
export type DeviceTypeName = keyof typeof DEVICE_TYPES;

/** The stored SPAKE2+ verifier, conveyed to the commissioning behaviors through the node's environment. */
export class FactoryPaseVerifier {
    constructor(
        readonly verifier: Uint8Array,
        readonly salt: Uint8Array,
        readonly iterations: number,
    ) {}

    install(env: { get: ServerNode["env"]["get"] }) {
        const sessions = env.get(SessionManager);
        const server = PaseServer.fromVerificationValue(sessions, this.verifier, {
            iterations: this.iterations,
            salt: this.salt,
        });
        env.get(SecureChannelProtocol).setPaseCommissioner(server);
    }
}

/** CommissioningServer that serves PASE from the stored verifier and never prints the onboarding codes. */
export class FactoryCommissioningServer extends CommissioningServer {
    override async enterCommissionableMode() {
        await super.enterCommissionableMode();
        this.env.get(FactoryPaseVerifier).install(this.env);
    }

    protected override initiateCommissioning() {
        // The device does not know its passcode (the one in state is a random dummy): print nothing that looks
        // like an onboarding code.
        logger.info(`${this.endpoint} is uncommissioned; commissioning window open (verifier from factory data)`);
    }
}

/** AdministratorCommissioning: the basic window also uses the stored verifier. */
export class FactoryAdministratorCommissioningServer extends AdministratorCommissioningServer {
    override async openBasicCommissioningWindow(request: Parameters<AdministratorCommissioningServer["openBasicCommissioningWindow"]>[0]) {
        await super.openBasicCommissioningWindow(request);
        this.env.get(FactoryPaseVerifier).install(this.env);
    }
}

export const FactoryRootEndpoint = ServerNode.RootEndpoint.with(FactoryCommissioningServer, FactoryAdministratorCommissioningServer);

/**
 * What the firmware reports when the factory partition has no such key: connectedhomeip's CHIPDeviceConfig.h
 * defaults (CHIP_DEVICE_CONFIG_DEVICE_VENDOR_NAME, …_PRODUCT_NAME, …_DEFAULT_DEVICE_HARDWARE_VERSION[_STRING]),
 * which ESP32FactoryDataProvider falls back to. An mfg_tool batch made without --vendor-name / --hw-ver-str boots
 * with these, as a real device does.
 */
export const CHIP_DEVICE_CONFIG_DEFAULTS = {
    vendorName: "TEST_VENDOR",
    productName: "TEST_PRODUCT",
    hardwareVersion: 0,
    hardwareVersionString: "TEST_VERSION",
} as const;

export interface DeviceOptions {
    factoryData: DeviceFactoryData;
    firmware: FirmwareInfo;
    /** Persistent storage (the nvs partition); fabrics survive a restart on the same storage. */
    storage: DeviceStorageBackend;
    /** UDP port on 127.0.0.1 and ::1; 0/undefined = any free port (read `port` afterwards). */
    port?: number;
    deviceType?: DeviceTypeName;
    /** Node id in logs; default "device-<serial or discriminator>". */
    id?: string;
    /**
     * Extra behaviors of the root endpoint (e.g. the OTA requestor), part of the node from its creation so they
     * initialize (and see the node come online) like the built-in ones.
     */
    rootBehaviors?: readonly Behavior.Type[];
    /** Called with the node's environment before the node is created: services the extra behaviors read. */
    configureEnvironment?: (env: Environment) => void;
    /** Trouble on the device's network path (lost, duplicated, delayed datagrams), deterministic from its seed. */
    networkFaults?: NetworkFaults;
}

export interface DeviceTimings {
    /** startDevice() call to commissionable/operational online, ms. */
    bootMs: number;
}

export interface RunningDevice {
    readonly node: ServerNode;
    /** The UDP port the device listens on (127.0.0.1 and ::1). */
    readonly port: number;
    readonly timings: DeviceTimings;
    readonly credentials: CheckedCredentials;
    /** What the device would put in its _matterc._udp TXT records (for the harness's discovery registry). */
    readonly advertisement: { discriminator: number; vendorId: number; productId: number };
    /** Number of fabrics the device is commissioned into. */
    readonly commissionedFabrics: number;
    /** Go offline and release sockets, timers and storage (storage content stays). */
    stop(): Promise<void>;
    /** Factory reset: erase the storage (fabrics, ACLs) and stop. */
    factoryReset(): Promise<void>;
}

/**
 * Boots the firmware. Fails before any matter.js object exists if the factory data is missing or inconsistent
 * (`EspError` ESP_ERR_NVS_NOT_FOUND "reading dac-cert from fctry", `DacVendorIdMismatch`, …).
 */
export async function startDevice(options: DeviceOptions): Promise<RunningDevice> {
    const t0 = performance.now();
    const { factoryData: fd, firmware } = options;
    const credentials = validateFactoryData(fd, firmware);
    if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
        throw new DiagnosticError("ESP_ERR_INVALID_ARG", `port ${options.port} out of range`, { field: "port" });
    }
    const deviceType = options.deviceType ?? "on-off-light";
    const partType = DEVICE_TYPES[deviceType];
    if (partType === undefined) {
        throw new DiagnosticError("ESP_ERR_INVALID_ARG", `unknown device type ${deviceType}`, { field: "deviceType" });
    }
    const id = options.id ?? `device-${fd.serialNumber ?? fd.discriminator}`;

    const environment = createNodeEnvironment(id, { storage: options.storage, ...(options.networkFaults ? { networkFaults: options.networkFaults } : {}) });
    environment.set(FactoryPaseVerifier, new FactoryPaseVerifier(Uint8Array.from(fd.verifier), Uint8Array.from(fd.salt), fd.iterationCount));
    options.configureEnvironment?.(environment);
    const rootEndpoint = options.rootBehaviors?.length ? FactoryRootEndpoint.with(...options.rootBehaviors) : FactoryRootEndpoint;

    const basicInformation: Record<string, unknown> = {
        vendorId: fd.vendorId,
        productId: fd.productId,
        vendorName: fd.vendorName ?? CHIP_DEVICE_CONFIG_DEFAULTS.vendorName,
        productName: fd.productName ?? CHIP_DEVICE_CONFIG_DEFAULTS.productName,
        nodeLabel: "",
        hardwareVersion: fd.hardwareVersion ?? CHIP_DEVICE_CONFIG_DEFAULTS.hardwareVersion,
        hardwareVersionString: fd.hardwareVersionString ?? CHIP_DEVICE_CONFIG_DEFAULTS.hardwareVersionString,
        softwareVersion: firmware.softwareVersion,
        softwareVersionString: firmware.softwareVersionString,
    };
    if (fd.manufacturingDate !== undefined) basicInformation.manufacturingDate = fd.manufacturingDate;
    if (fd.serialNumber !== undefined) basicInformation.serialNumber = fd.serialNumber;
    if (fd.partNumber !== undefined) basicInformation.partNumber = fd.partNumber;
    if (fd.productLabel !== undefined) basicInformation.productLabel = fd.productLabel;
    if (fd.productUrl !== undefined) basicInformation.productUrl = fd.productUrl;
    if (fd.uniqueId !== undefined) basicInformation.uniqueId = fd.uniqueId;
    if (fd.productFinish !== undefined || fd.productColor !== undefined) {
        basicInformation.productAppearance = { finish: fd.productFinish ?? 0, primaryColor: fd.productColor ?? null };
    }

    let node: ServerNode;
    try {
        node = await ServerNode.create(rootEndpoint as typeof FactoryRootEndpoint, {
            id,
            environment,
            network: {
                port: options.port ?? 0,
                listeningAddressIpv4: "127.0.0.1",
                listeningAddressIpv6: "::1",
                ipv4: true,
                ble: false,
            },
            commissioning: {
                // A random dummy passcode is generated by matter.js (-1); PASE uses the verifier instead.
                discriminator: fd.discriminator,
            },
            productDescription: {
                name: fd.productName ?? CHIP_DEVICE_CONFIG_DEFAULTS.productName,
            },
            basicInformation,
            operationalCredentials: {
                certification: {
                    privateKey: PrivateKey(Uint8Array.from(fd.dacKey)),
                    certificate: Uint8Array.from(fd.dacCert),
                    intermediateCertificate: Uint8Array.from(fd.paiCert),
                    declaration: Uint8Array.from(fd.certDeclaration),
                },
            },
            parts: [new Endpoint(partType, { id: "ep1" })],
        } as never);
    } catch (e) {
        // nothing was started: the environment holds no sockets yet
        throw e;
    }
    try {
        await node.start();
    } catch (e) {
        await node.close().catch(() => {});
        throw e;
    }
    const port = node.state.network.operationalPort;
    const timings: DeviceTimings = { bootMs: performance.now() - t0 };

    let stopped: Promise<void> | undefined;
    const stop = () => (stopped ??= node.close());
    return {
        node,
        port,
        timings,
        credentials,
        advertisement: { discriminator: fd.discriminator, vendorId: fd.vendorId, productId: fd.productId },
        get commissionedFabrics() {
            return node.state.operationalCredentials.commissionedFabrics;
        },
        stop,
        async factoryReset() {
            await stop();
            await options.storage.clear();
        },
    };
}
