/**
 * The demo's production line, self-contained: a throwaway test PKI (PAA, PAI, CD signer, CD), a small batch made by
 * `generate` exactly as a factory would run it, and the trust directories a gate needs. Used by `mfgsim demo` and by
 * tests that need a realistic batch without ../shared.
 */
import { join, resolve } from "node:path";
import { writeFileAtomic, writePrivateFile } from "../cli/io.js";
import { runBatch, type BatchResult } from "../mfg_tool/batch.js";
import { buildConfig } from "../mfg_tool/cli.js";
import { createTestPki, pem, pkcs8Der, type TestPki } from "../pki/index.js";

export interface DemoBatchOptions {
    /** Working directory; the batch goes to <dir>/out, the PKI to <dir>/pki. */
    dir: string;
    count?: number;
    vendorId?: number;
    productId?: number;
    /** PBKDF2 iterations of the SPAKE2+ verifier (mfg_tool default 10000). */
    iterationCount?: number;
    /** NVS encryption (-e): keys partition beside each partition. */
    encrypt?: boolean;
    /** Reproducible batch (seeded keys: test batches only). */
    seed?: string;
    jobs?: number;
}

export interface DemoBatch {
    pki: TestPki;
    /** The PAA as a trust-store directory. */
    paaStore: string;
    /** The CD signer's certificate as a CD-signer directory. */
    cdSigners: string;
    outdir: string;
    batch: BatchResult;
}

export async function makeDemoBatch(o: DemoBatchOptions): Promise<DemoBatch> {
    const vendorId = o.vendorId ?? 0xfff1;
    const productId = o.productId ?? 0x8000;
    const pki = createTestPki({ vid: vendorId, pid: productId, seed: o.seed });
    const dir = resolve(o.dir);
    const pkiDir = join(dir, "pki");
    const paaStore = join(pkiDir, "paa-store");
    const cdSigners = join(pkiDir, "cd-signers");
    await writeFileAtomic(join(paaStore, "PAA.pem"), pki.paa.pem);
    await writeFileAtomic(join(cdSigners, "CD-Signer.pem"), pki.cdSigner.pem);
    await writeFileAtomic(join(pkiDir, "PAI.pem"), pki.pai.pem);
    await writePrivateFile(join(pkiDir, "PAI-key.pem"), pem("PRIVATE KEY", pkcs8Der(pki.pai.key)));
    await writeFileAtomic(join(pkiDir, "CD.der"), pki.cd);
    const outdir = join(dir, "out");
    const config = buildConfig({
        count: o.count ?? 3,
        vendorId,
        productId,
        pai: true,
        cert: join(pkiDir, "PAI.pem"),
        key: join(pkiDir, "PAI-key.pem"),
        certDclrn: join(pkiDir, "CD.der"),
        outdir,
        encrypt: o.encrypt ?? false,
        iterationCount: o.iterationCount ?? 10000,
        vendorName: "mfgsim demo",
        productName: "Virtual Light",
        hwVer: 1,
        hwVerStr: "1.0",
        mfgDate: "2026-11-25",
        seed: o.seed,
        jobs: o.jobs,
        discoveryMode: 2,
    });
    const batch = await runBatch(config, { cwd: dir });
    return { pki, paaStore, cdSigners, outdir, batch };
}
