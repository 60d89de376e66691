/**
 * Per-device randomness. Without a seed every value comes from the OS CSPRNG. With `--seed S` every value is
 * HKDF-SHA256(ikm = S, salt = "mfgsim/generate/v1", info = "<purpose>/<device index>"): a device's values depend
 * only on (seed, index, purpose), so --jobs, --shard and --resume never change them. Seeded keys are for test
 * batches only: anyone who knows the seed knows every DAC private key of the batch.
 */
import { hkdfSync } from "node:crypto";
import { osRandomBytes } from "../pki/random.js";
import { TRIVIAL_PASSCODES } from "../onboarding/rules.js";

const SALT = Buffer.from("mfgsim/generate/v1", "utf8");

/** Device index used for batch-level values (the PAI key generated with --paa). */
export const BATCH_INDEX = -1;

export interface Rng {
    /** `n` random bytes for `purpose` (deterministic per purpose when seeded). */
    bytes(purpose: string, n: number): Uint8Array;
    readonly seeded: boolean;
}

export function deviceRng(seed: Uint8Array | undefined, index: number): Rng {
    if (seed === undefined) return { seeded: false, bytes: (_purpose, n) => osRandomBytes(n) };
    const ikm = Buffer.from(seed);
    return {
        seeded: true,
        bytes: (purpose, n) => new Uint8Array(hkdfSync("sha256", ikm, SALT, Buffer.from(`${purpose}/${index}`, "utf8"), n)),
    };
}

/** A uniformly random integer in [0, bound) by rejection sampling over 32-bit draws (bound ≤ 2^32). */
export function uniformInt(rng: Rng, purpose: string, bound: number): number {
    const limit = Math.floor(0x1_0000_0000 / bound) * bound;
    for (let attempt = 0; ; attempt++) {
        const b = rng.bytes(`${purpose}#${attempt}`, 4);
        const x = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
        if (x < limit) return x % bound;
    }
}

/** A random valid setup passcode: 1..99999998 without the trivial ones (drawn again instead of mfg_tool's "-1"). */
export function randomPasscode(rng: Rng): number {
    for (let attempt = 0; ; attempt++) {
        const p = 1 + uniformInt(rng, `passcode#${attempt}`, 99_999_998);
        if (!TRIVIAL_PASSCODES.includes(p)) return p;
    }
}

export function randomDiscriminator(rng: Rng): number {
    return uniformInt(rng, "discriminator", 0x1000);
}

/** An RFC 4122 version-4 UUID made from 16 random bytes. */
export function randomUuid(rng: Rng): string {
    const b = rng.bytes("uuid", 16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = Buffer.from(b).toString("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function seedBytes(seed: string): Uint8Array {
    return new Uint8Array(Buffer.from(seed, "utf8"));
}
