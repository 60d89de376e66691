/** Thin I/O wrapper: loads PAA and CD-signer directories (DER or PEM files) into a TrustStore. */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { pemBlocks } from "./keys.js";
import { type CdSignerEntry, type PaaEntry, type TrustStore, cdSignerFromCertificate, makeTrustStore, paaEntry } from "./trust.js";

/** DER certificates in a file: one DER, or every CERTIFICATE block of a PEM file. */
export function certificatesInFile(data: Uint8Array): Uint8Array[] {
    const text = Buffer.from(data).toString("latin1");
    if (text.includes("-----BEGIN")) return pemBlocks(text).filter(b => b.label === "CERTIFICATE" || b.label === "TRUSTED CERTIFICATE").map(b => b.der);
    return [data];
}

async function listFiles(dir: string, what: string): Promise<string[]> {
    try {
        const st = await stat(dir);
        if (!st.isDirectory()) throw new DiagnosticError("ENOTDIR", `${what} is not a directory`, { file: dir });
        return (await readdir(dir)).filter(f => /\.(der|pem|crt|cer)$/i.test(f)).sort().map(f => join(dir, f));
    } catch (e) {
        if (e instanceof DiagnosticError) throw e;
        const err = e as NodeJS.ErrnoException;
        throw new DiagnosticError(err.code ?? "EIO", `cannot read ${what}: ${err.code === "ENOENT" ? "no such directory" : err.message}`, { file: dir });
    }
}

export async function loadTrustStore(o: { paaStore: string; cdSigners?: string }): Promise<TrustStore> {
    const skipped: Array<{ file: string; reason: string }> = [];
    const paas: PaaEntry[] = [];
    const seen = new Set<string>();
    for (const file of await listFiles(o.paaStore, "PAA store")) {
        for (const der of certificatesInFile(await readFile(file))) {
            const key = Buffer.from(der).toString("hex");
            if (seen.has(key)) continue; // the same PAA as .der and .pem
            seen.add(key);
            try {
                paas.push(paaEntry(der, file));
            } catch (e) {
                skipped.push({ file, reason: e instanceof Error ? e.message : String(e) });
            }
        }
    }
    const cdSigners: CdSignerEntry[] = [];
    if (o.cdSigners) {
        for (const file of await listFiles(o.cdSigners, "CD signer store")) {
            const data = await readFile(file);
            if (Buffer.from(data).toString("latin1").includes("PRIVATE KEY")) continue; // a signing key beside its certificate
            for (const der of certificatesInFile(data)) {
                try {
                    cdSigners.push(cdSignerFromCertificate(der, file));
                } catch (e) {
                    skipped.push({ file, reason: e instanceof Error ? e.message : String(e) });
                }
            }
        }
    }
    return makeTrustStore({ paas, paaSource: o.paaStore, cdSigners, skipped });
}
