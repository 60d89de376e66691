/**
 * Finds the devices a gate run checks, in the layouts users hand us: an esp-matter-mfg-tool / mfgsim output
 * directory (out/ or out/<vid>_<pid>/), or device directories (<uuid>/ holding <uuid>-partition.bin). Files are
 * recognised by mfg_tool's names, so a folder produced by the real mfg_tool works as it is.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { DiagnosticError } from "../../emulator/esp_common/err.js";

export interface DeviceFiles {
    /** The device id: mfg_tool's uuid (directory name). */
    id: string;
    dir: string;
    partition: string;
    keysPartition?: string;
    secureCert?: string;
    onboardingCodes?: string;
    qrPng?: string;
    /** This device's record in manifest.json (mfgsim outputs), if any. */
    manifest?: ManifestDevice;
}

/** The fields of a manifest.json record the gate compares against (written by `mfgsim generate`). */
export interface ManifestDevice {
    id: string;
    serial?: string;
    vendorId?: number;
    productId?: number;
    discriminator?: number;
    qrCode?: string | null;
    manualCode?: string | null;
    dacSkid?: string | null;
}

function isDir(p: string): boolean {
    try {
        return statSync(p).isDirectory();
    } catch {
        return false;
    }
}

function findFile(dir: string, names: string[]): string | undefined {
    for (const n of names) {
        const p = join(dir, n);
        if (existsSync(p)) return p;
    }
    return undefined;
}

/** Reads manifest.json records keyed by device id (the manifest sits in the <vid>_<pid>/ directory). */
function loadManifest(dir: string, cache: Map<string, Map<string, ManifestDevice>>): Map<string, ManifestDevice> {
    const cached = cache.get(dir);
    if (cached) return cached;
    const records = new Map<string, ManifestDevice>();
    const file = join(dir, "manifest.json");
    if (existsSync(file)) {
        let doc: unknown;
        try {
            doc = JSON.parse(readFileSync(file, "utf8"));
        } catch (e) {
            throw new DiagnosticError("INVALID_MANIFEST", `not JSON: ${(e as Error).message}`, { file });
        }
        const list = (doc as { devices?: unknown })?.devices;
        if (!Array.isArray(list)) throw new DiagnosticError("INVALID_MANIFEST", "expected a `devices` array", { file, field: "devices" });
        for (const r of list as ManifestDevice[]) if (r && typeof r.id === "string") records.set(r.id, r);
    }
    cache.set(dir, records);
    return records;
}

/** The files of one device directory, or undefined when it holds no partition. */
export function deviceInDir(dir: string, manifests = new Map<string, Map<string, ManifestDevice>>()): DeviceFiles | undefined {
    const id = basename(dir);
    const partition = findFile(dir, [`${id}-partition.bin`, "partition.bin"]);
    if (!partition) return undefined;
    return {
        id,
        dir,
        partition,
        keysPartition: findFile(dir, [`${id}-keys-partition.bin`, "keys-partition.bin"]),
        secureCert: findFile(dir, [`${id}_esp_secure_cert.bin`, "esp_secure_cert.bin"]),
        onboardingCodes: findFile(dir, [`${id}-onb_codes.csv`, "onb_codes.csv"]),
        qrPng: findFile(dir, [`${id}-qrcode.png`, "qrcode.png"]),
        manifest: loadManifest(dirname(dir), manifests).get(id),
    };
}

/**
 * Expands the gate's inputs into device directories, sorted by path so shards are stable. Accepts an output root
 * (out/), a <vid>_<pid>/ directory, or device directories.
 */
export function discoverDevices(inputs: readonly string[]): DeviceFiles[] {
    if (inputs.length === 0) throw new DiagnosticError("INVALID_ARGUMENT", "no device directories given");
    const manifests = new Map<string, Map<string, ManifestDevice>>();
    const found = new Map<string, DeviceFiles>();
    const visit = (dir: string, depth: number) => {
        const device = deviceInDir(dir, manifests);
        if (device) {
            found.set(resolve(dir), device);
            return;
        }
        if (depth >= 2) return;
        for (const name of readdirSync(dir).sort()) {
            if (name === "staging" || name === "internal" || name.startsWith(".")) continue;
            const child = join(dir, name);
            if (isDir(child)) visit(child, depth + 1);
        }
    };
    for (const input of inputs) {
        if (!isDir(input)) {
            // a batch directory (mfg_tool's out/ or out/<vid>_<pid>/) or device directories, not a file
            const exists = existsSync(input);
            throw new DiagnosticError(exists ? "ENOTDIR" : "ENOENT", exists ? "not a directory: gate takes a batch or device directory" : "no such directory", { file: input });
        }
        const before = found.size;
        visit(input, 0);
        if (found.size === before) {
            throw new DiagnosticError("ESP_ERR_NVS_PART_NOT_FOUND", "no device partition (<uuid>-partition.bin) found here or below", { file: input });
        }
    }
    return [...found.values()].sort((a, b) => a.dir.localeCompare(b.dir));
}

/** `--shard k/n`: the k-th of n deterministic slices of the (sorted) device list. */
export function parseShard(text: string): { k: number; n: number } {
    const m = /^(\d+)\/(\d+)$/.exec(text.trim());
    const k = m ? Number(m[1]) : NaN;
    const n = m ? Number(m[2]) : NaN;
    if (!m || n < 1 || k < 1 || k > n) throw new DiagnosticError("INVALID_ARGUMENT", `--shard must be k/n with 1 ≤ k ≤ n, got '${text}'`, { field: "shard" });
    return { k, n };
}

export function shardSlice<T>(items: readonly T[], shard?: { k: number; n: number }): T[] {
    return shard ? items.filter((_, i) => i % shard.n === shard.k - 1) : [...items];
}
