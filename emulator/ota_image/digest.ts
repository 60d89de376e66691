/**
 * OTA image digest algorithms: the IANA Named Information Hash Algorithm Registry ids (RFC 6920) used as
 * ImageDigestType, with the names ota_image_tool.py uses for `-da` (its DIGEST_ALGORITHM_ID table).
 * ota_image_tool can only create the ones Python's hashlib provides (sha256, sha384, sha512, sha3_*); the
 * truncated sha-256 ids 2–6 are verifiable here (leftmost bits of SHA-256, RFC 6920 §2) but not creatable.
 */
import { createHash, type Hash } from "node:crypto";

export interface DigestAlgorithm {
    /** ota_image_tool.py name. */
    name: string;
    /** ImageDigestType (IANA NI registry id). */
    id: number;
    /** Node crypto hash name. */
    node: string;
    /** Digest length in bytes (truncated for ids 2–6). */
    size: number;
    /** Accepted by `ota create -da`. */
    creatable: boolean;
}

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = [
    { name: "sha256", id: 1, node: "sha256", size: 32, creatable: true },
    { name: "sha256_128", id: 2, node: "sha256", size: 16, creatable: false },
    { name: "sha256_120", id: 3, node: "sha256", size: 15, creatable: false },
    { name: "sha256_96", id: 4, node: "sha256", size: 12, creatable: false },
    { name: "sha256_64", id: 5, node: "sha256", size: 8, creatable: false },
    { name: "sha256_32", id: 6, node: "sha256", size: 4, creatable: false },
    { name: "sha384", id: 7, node: "sha384", size: 48, creatable: true },
    { name: "sha512", id: 8, node: "sha512", size: 64, creatable: true },
    { name: "sha3_224", id: 9, node: "sha3-224", size: 28, creatable: true },
    { name: "sha3_256", id: 10, node: "sha3-256", size: 32, creatable: true },
    { name: "sha3_384", id: 11, node: "sha3-384", size: 48, creatable: true },
    { name: "sha3_512", id: 12, node: "sha3-512", size: 64, creatable: true },
];

export type DigestName = "sha256" | "sha384" | "sha512" | "sha3_224" | "sha3_256" | "sha3_384" | "sha3_512";

export const CREATABLE_DIGESTS = DIGEST_ALGORITHMS.filter(a => a.creatable).map(a => a.name) as DigestName[];

export function digestById(id: number): DigestAlgorithm | undefined {
    return DIGEST_ALGORITHMS.find(a => a.id === id);
}

export function digestByName(name: string): DigestAlgorithm | undefined {
    const n = name.toLowerCase().replace(/-/g, "_");
    return DIGEST_ALGORITHMS.find(a => a.name === n);
}

/** An incremental digest that truncates as the algorithm requires. */
export class PayloadDigest {
    readonly #hash: Hash;
    readonly #size: number;

    constructor(alg: DigestAlgorithm) {
        this.#hash = createHash(alg.node);
        this.#size = alg.size;
    }

    update(chunk: Uint8Array): this {
        this.#hash.update(chunk);
        return this;
    }

    digest(): Uint8Array {
        return new Uint8Array(this.#hash.digest().subarray(0, this.#size));
    }
}

export function computeDigest(alg: DigestAlgorithm, chunks: Uint8Array | readonly Uint8Array[]): Uint8Array {
    const d = new PayloadDigest(alg);
    for (const c of chunks instanceof Uint8Array ? [chunks] : chunks) d.update(c);
    return d.digest();
}
