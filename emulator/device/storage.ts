/**
 * Device storage: the key-value store a virtual device keeps its fabrics, ACLs, counters and attribute values in
 * (the `nvs` partition on a real ESP32). matter.js talks to it through {@link BackendStorageDriver}.
 *
 * A backend stores opaque byte values under string keys. Keys look like `node0/root.fabrics/fabrics`
 * (namespace / matter.js context path / key); a backend with short key names (NVS: 15 characters) maps them
 * itself, e.g. by hashing, and keeps the full key inside the value.
 */
import { MemoryStorageDriver, fromJson, toJson, type SupportedStorageTypes } from "@matter/main";
import { DiagnosticError } from "../esp_common/err.js";

type MaybePromise<T> = T | Promise<T>;

/** What a device persists to. Implementations may be synchronous or asynchronous. */
export interface DeviceStorageBackend {
    /** Every stored key/value pair (read once at boot). */
    entries(): MaybePromise<Iterable<[string, Uint8Array]>>;
    set(key: string, value: Uint8Array): MaybePromise<void>;
    delete(key: string): MaybePromise<void>;
    /** Factory reset: erase everything. */
    clear(): MaybePromise<void>;
}

/** In-memory backend: survives a device restart within the process (pass the same instance to the next boot). */
export class MemoryStorageBackend implements DeviceStorageBackend {
    readonly data = new Map<string, Uint8Array>();
    entries(): Iterable<[string, Uint8Array]> {
        return [...this.data.entries()].map(([k, v]) => [k, Uint8Array.from(v)] as [string, Uint8Array]);
    }
    set(key: string, value: Uint8Array): void {
        this.data.set(key, Uint8Array.from(value));
    }
    delete(key: string): void {
        this.data.delete(key);
    }
    clear(): void {
        this.data.clear();
    }
    get size(): number {
        return this.data.size;
    }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function joinKey(namespace: string, contextKey: string, key: string) {
    return `${namespace}/${contextKey}/${key}`;
}

/**
 * A matter.js storage driver over a {@link DeviceStorageBackend}: reads the backend once at open, serves reads
 * from memory, writes through to the backend in order; `close()` waits for the pending writes.
 */
export class BackendStorageDriver extends MemoryStorageDriver {
    readonly #backend: DeviceStorageBackend;
    readonly #namespace: string;
    #pending: Promise<void> = Promise.resolve();
    #writeError?: unknown;

    private constructor(backend: DeviceStorageBackend, namespace: string, store: Record<string, Record<string, SupportedStorageTypes>>) {
        super(store);
        this.#backend = backend;
        this.#namespace = namespace;
    }

    static async open(backend: DeviceStorageBackend, namespace: string): Promise<BackendStorageDriver> {
        const store: Record<string, Record<string, SupportedStorageTypes>> = {};
        const prefix = `${namespace}/`;
        for (const [fullKey, bytes] of await backend.entries()) {
            if (!fullKey.startsWith(prefix)) continue;
            const rest = fullKey.slice(prefix.length);
            const slash = rest.lastIndexOf("/");
            if (slash <= 0 || slash === rest.length - 1) {
                throw new DiagnosticError("ESP_ERR_NVS_CORRUPT_KEY_PART", `malformed storage key ${JSON.stringify(fullKey)}`, { field: fullKey });
            }
            let value: SupportedStorageTypes;
            try {
                value = fromJson(decoder.decode(bytes));
            } catch (e) {
                throw new DiagnosticError("ESP_ERR_NVS_CORRUPT_KEY_PART", `unreadable stored value: ${(e as Error).message}`, { field: fullKey });
            }
            (store[rest.slice(0, slash)] ??= {})[rest.slice(slash + 1)] = value;
        }
        const driver = new BackendStorageDriver(backend, namespace, store);
        driver.initialize();
        return driver;
    }

    #write(op: () => MaybePromise<void>) {
        this.#pending = this.#pending.then(op).catch(e => {
            this.#writeError ??= e;
        });
    }

    /** Resolves when every write so far reached the backend; rethrows the first backend failure. */
    async flush(): Promise<void> {
        await this.#pending;
        if (this.#writeError !== undefined) throw this.#writeError;
    }

    override set(contexts: string[], keyOrValues: string | Record<string, SupportedStorageTypes>, value?: SupportedStorageTypes) {
        super.set(contexts, keyOrValues, value);
        const contextKey = contexts.join(".");
        const values = typeof keyOrValues === "string" ? { [keyOrValues]: value } : keyOrValues;
        for (const [key, v] of Object.entries(values)) {
            const bytes = encoder.encode(toJson(v as SupportedStorageTypes));
            this.#write(() => this.#backend.set(joinKey(this.#namespace, contextKey, key), bytes));
        }
    }

    override delete(contexts: string[], key: string) {
        super.delete(contexts, key);
        const full = joinKey(this.#namespace, contexts.join("."), key);
        this.#write(() => this.#backend.delete(full));
    }

    override clearAll(contexts: string[]) {
        const contextKey = contexts.join(".");
        const doomed: string[] = [];
        for (const ctx of Object.keys(this.data)) {
            if (contextKey === "" || ctx === contextKey || ctx.startsWith(`${contextKey}.`)) {
                for (const key of Object.keys(this.data[ctx] ?? {})) doomed.push(joinKey(this.#namespace, ctx, key));
            }
        }
        if (contextKey === "") {
            for (const ctx of Object.keys(this.data)) delete this.data[ctx];
        } else {
            super.clearAll(contexts);
        }
        for (const full of doomed) this.#write(() => this.#backend.delete(full));
    }

    override async close() {
        await this.flush();
        await super.close();
    }
}
