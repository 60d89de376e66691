/**
 * One matter.js root `Environment` per node (device or commissioner): its own mDNS singleton (which goes nowhere,
 * see network.ts), its own storage, the shared crypto of the process.
 */
import { Crypto, Entropy, Environment, MockStorageService, Network, StorageService } from "@matter/main";
import { LoopbackNetwork, type NetworkFaults } from "./network.js";
import { BackendStorageDriver, type DeviceStorageBackend } from "./storage.js";

export interface NodeEnvironmentOptions {
    /** Persistent storage of the node; matter.js namespaces are prefixed to the keys. */
    storage: DeviceStorageBackend;
    /** Override the network (tests); default: loopback only. */
    network?: Network;
    /** Faults on every datagram the node sends (drop / duplicate / delay), on the default loopback network. */
    networkFaults?: NetworkFaults;
}

let counter = 0;

export function createNodeEnvironment(name: string, options: NodeEnvironmentOptions): Environment {
    const env = new Environment(`${name}#${++counter}`);
    const base = Environment.default;
    env.set(Entropy, base.get(Entropy));
    env.set(Crypto, base.get(Crypto));
    env.set(Network, options.network ?? new LoopbackNetwork(base.get(Network), options.networkFaults));
    const storage = new MockStorageService(env, namespace => BackendStorageDriver.open(options.storage, namespace));
    env.set(StorageService, storage);
    return env;
}
