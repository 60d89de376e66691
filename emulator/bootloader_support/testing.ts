/** Test support: signing keys for Secure Boot V2 tests — the vector keys when present, else generated once. */
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { vectorPath } from "../testing/vectors.js";

export interface TestKeys {
    rsa0: string;
    rsa1: string;
    ec0: string;
    ec1: string;
}

let cached: TestKeys | undefined;

/** PEM private keys: two RSA-3072 (slow to generate: done once per process) and two ECDSA P-256. */
export function testKeys(): TestKeys {
    if (cached) return cached;
    const dir = vectorPath("esp32/secure_boot_v2/keys");
    const gen = (type: "rsa" | "ec") =>
        (type === "rsa"
            ? generateKeyPairSync("rsa", { modulusLength: 3072, publicExponent: 65537 })
            : generateKeyPairSync("ec", { namedCurve: "P-256" })
        ).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const read = (name: string, type: "rsa" | "ec") => (dir ? readFileSync(join(dir, name), "utf8") : gen(type));
    cached = {
        rsa0: read("rsa3072_key0.pem", "rsa"),
        rsa1: read("rsa3072_key1.pem", "rsa"),
        ec0: read("ecdsa_p256_key0.pem", "ec"),
        ec1: gen("ec"),
    };
    return cached;
}
