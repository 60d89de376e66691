import { constants, createHash, createPublicKey, generateKeyPairSync, verify as nodeVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { crc32le } from "../esp_rom/crc.js";
import { DiagnosticError } from "../esp_common/err.js";
import { describeWithVectors, vectorPath } from "../testing/vectors.js";
import { buildAppImage, parseAppImage } from "./image_format.js";
import { verifySignedImage } from "./image_verify.js";
import {
    checkSignatureSector, keyDigest, loadSigningKey, parseSignatureBlock, parseSignatureSector, publicKeyInfo, rsaMdash, rsaRinv,
    SECTOR_SIZE, SIG_BLOCK_SIZE, signatureBlockProblem, signImage, type SigningKey,
} from "./secure_boot_v2.js";
import { testKeys } from "./testing.js";

const sha = (d: Uint8Array) => new Uint8Array(createHash("sha256").update(d).digest());
const hex = (d: Uint8Array) => Buffer.from(d).toString("hex");
const pub = (k: SigningKey) => (k.kind === "rsa" ? { kind: "rsa" as const, n: k.n, e: k.e } : { kind: "ecdsa" as const, curve: k.curve, x: k.x, y: k.y });
const digestOf = (k: SigningKey) => keyDigest(pub(k));

/** Independent check of a block's signature with Node's OpenSSL (not our PSS/ECDSA code). */
function opensslVerifies(block: Uint8Array, paddedImage: Uint8Array, pem: string): boolean {
    const key = createPublicKey(pem);
    if (block[1] === 2) {
        const sig = Uint8Array.from(block.subarray(812, 1196)).reverse();
        return nodeVerify("sha256", paddedImage, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    }
    const rs = new Uint8Array(64);
    rs.set(Uint8Array.from(block.subarray(101, 133)).reverse(), 0);
    rs.set(Uint8Array.from(block.subarray(133, 165)).reverse(), 32);
    return nodeVerify("sha256", paddedImage, { key, dsaEncoding: "ieee-p1363" }, rs);
}

describeWithVectors("Secure Boot V2: golden vectors (espsecure sign_data --version 2)", "esp32/secure_boot_v2", dir => {
    const unsignedPath = vectorPath("esp32/app_image/app_esp32c3_unsigned.bin")!;
    const unsigned = readFileSync(unsignedPath);
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    const cases = [
        { file: "app_signed_rsa3072_key0.bin", key: "rsa3072_key0", salt: "esp-virtual pss salt 0" },
        { file: "app_signed_ecdsa_p256_key0.bin", key: "ecdsa_p256_key0", salt: undefined },
    ];

    it("key digests computed from keys/ equal the eFuse digest files and summary.json", () => {
        for (const [name, expected] of Object.entries(summary.efuse_key_digests_sha256 as Record<string, string>)) {
            const pem = readFileSync(join(dir, "keys", `${name}.pub.pem`), "utf8");
            expect(hex(keyDigest(publicKeyInfo(pem))), name).to.equal(expected);
            expect(hex(digestOf(loadSigningKey(readFileSync(join(dir, "keys", `${name}.pem`))))), name).to.equal(expected);
            const efuse = vectorPath(`esp32/secure_boot_v2/efuse_digest_${name}.bin`);
            if (efuse) expect(hex(readFileSync(efuse))).to.equal(expected);
        }
    });

    it("RSA primitives match summary.json (M', e, n prefix)", () => {
        const k = loadSigningKey(readFileSync(join(dir, "keys/rsa3072_key0.pem")));
        if (k.kind !== "rsa") throw new Error("expected RSA");
        const p = summary.rsa3072_key0_primitives;
        expect(k.e).to.equal(p.e);
        expect(`0x${rsaMdash(k.n).toString(16)}`).to.equal(p.mdash_u32);
        expect(`0x${k.n.toString(16)}`.startsWith(p.n_be_hex_prefix.replace("...", ""))).to.equal(true);
        expect((k.n * BigInt(rsaMdash(k.n)) + 1n) % (1n << 32n)).to.equal(0n);
        expect(rsaRinv(k.n)).to.equal((1n << 6144n) % k.n);
    });

    for (const c of cases) {
        const signed = readFileSync(join(dir, c.file));
        const efuse = readFileSync(join(dir, `efuse_digest_${c.key}.bin`));
        it(`${c.file}: verifies against its eFuse digest, with the recorded image digest`, () => {
            const r = verifySignedImage(signed, { digests: [efuse] });
            expect(r.valid, r.reason).to.equal(true);
            expect(r.block).to.equal(0);
            const blocks = parseSignatureSector(signed.subarray(signed.length - SECTOR_SIZE));
            expect(blocks.length).to.equal(summary[c.file].blocks);
            expect(hex(blocks[0]!.imageDigest)).to.equal(summary[c.file].image_digest_sha256);
            expect(hex(sha(signed.subarray(0, signed.length - SECTOR_SIZE)))).to.equal(summary[c.file].image_digest_sha256);
            expect(hex(blocks[0]!.keyDigest)).to.equal(hex(efuse));
            expect(opensslVerifies(blocks[0]!.raw, signed.subarray(0, 4096), readFileSync(join(dir, "keys", `${c.key}.pub.pem`), "utf8"))).to.equal(true);
        });
        it(`${c.file}: signing the unsigned image with the vector key gives the same bytes except the signature`, () => {
            const key = loadSigningKey(readFileSync(join(dir, "keys", `${c.key}.pem`)));
            const mine = signImage(unsigned, [key]); // random PSS salt, like espsecure
            expect(mine.length).to.equal(signed.length);
            const diff: number[] = [];
            for (let i = 0; i < signed.length; i++) if (mine[i] !== signed[i]) diff.push(i);
            const sigStart = 4096 + (c.key.startsWith("rsa") ? 812 : 101);
            const sigEnd = 4096 + (c.key.startsWith("rsa") ? 1196 : 165);
            expect(diff.every(i => (i >= sigStart && i < sigEnd) || (i >= 4096 + 1196 && i < 4096 + 1200)), `differs at ${diff.slice(0, 5)}`).to.equal(true);
            expect(verifySignedImage(mine, { digests: [efuse] }).valid).to.equal(true);
        });
        it(`${c.file}: with the vector's fixed salt / RFC 6979 nonce the output is byte-for-byte the vector`, () => {
            const key = loadSigningKey(readFileSync(join(dir, "keys", `${c.key}.pem`)));
            const salt = c.salt ? sha(Buffer.from(c.salt)) : undefined;
            const mine = signImage(unsigned, [key], salt ? { rsaSalt: salt } : {});
            expect(Buffer.from(mine).equals(signed)).to.equal(true);
        });
    }

    it("the RSA vector is rejected with key1's digest (README negative test)", () => {
        const signed = readFileSync(join(dir, "app_signed_rsa3072_key0.bin"));
        const key1 = keyDigest(publicKeyInfo(readFileSync(join(dir, "keys/rsa3072_key1.pub.pem"), "utf8")));
        const r = verifySignedImage(signed, { digests: [key1] });
        expect(r.valid).to.equal(false);
        expect(r.reason).to.match(/key digest does not match any trusted eFuse digest/);
    });

    it("ESP32-C2 style 16-byte digests match on the first 16 bytes", () => {
        const signed = readFileSync(join(dir, "app_signed_ecdsa_p256_key0.bin"));
        const efuse = readFileSync(join(dir, "efuse_digest_ecdsa_p256_key0.bin"));
        expect(verifySignedImage(signed, { digests: [efuse.subarray(0, 16)] }).valid).to.equal(true);
        const wrong = Uint8Array.from(efuse.subarray(0, 16));
        wrong[15]! ^= 1;
        expect(verifySignedImage(signed, { digests: [wrong] }).valid).to.equal(false);
    });
});

describe("Secure Boot V2: sign → verify round trips", function () {
    this.timeout(60_000); // RSA-3072 key generation when the vector keys are absent
    let keys: { rsa0: SigningKey; rsa1: SigningKey; ec0: SigningKey; ec1: SigningKey; pems: ReturnType<typeof testKeys> };
    const image = buildAppImage({ chip: "esp32c6", version: "3.1.0", secureVersion: 2, size: 5000 });
    before(() => {
        const pems = testKeys();
        keys = { rsa0: loadSigningKey(pems.rsa0), rsa1: loadSigningKey(pems.rsa1), ec0: loadSigningKey(pems.ec0), ec1: loadSigningKey(pems.ec1), pems };
    });

    it("RSA and ECDSA: pad to 4 KiB, one block, verifies (ours and OpenSSL's), CRC is standard zlib.crc32", () => {
        for (const [name, k] of [["rsa0", keys.rsa0], ["ec0", keys.ec0]] as const) {
            const s = signImage(image, [k]);
            expect(s.length).to.equal(8192 + 4096);
            expect(s.subarray(image.length, 8192).every(b => b === 0xff)).to.equal(true);
            const sector = s.subarray(8192);
            expect(sector.subarray(SIG_BLOCK_SIZE).every(b => b === 0xff)).to.equal(true);
            const crc = new DataView(sector.buffer, sector.byteOffset + 1196, 4).getUint32(0, true);
            expect(crc).to.equal(crc32le(0, sector.subarray(0, 1196)));
            expect(sector.subarray(1200, 1216).every(b => b === 0)).to.equal(true);
            expect(opensslVerifies(sector.subarray(0, SIG_BLOCK_SIZE), s.subarray(0, 8192), keys.pems[name])).to.equal(true);
            const r = verifySignedImage(s, { digests: [digestOf(k)] });
            expect(r, r.reason).to.include({ valid: true, block: 0 });
            // the signed image is still a valid app image
            expect(parseAppImage(s).hash!.ok).to.equal(true);
        }
    });

    it("append up to 3 blocks; a 4th is refused; any one trusted block suffices", () => {
        let s = signImage(image, [keys.rsa0]);
        s = signImage(s, [keys.ec0], { appendSignatures: true });
        s = signImage(s, [keys.rsa1], { appendSignatures: true });
        expect(parseSignatureSector(s.subarray(s.length - SECTOR_SIZE)).map(b => b.scheme)).to.deep.equal(["RSA-3072", "ECDSA-P256", "RSA-3072"]);
        expect(() => signImage(s, [keys.ec1], { appendSignatures: true })).to.throw(DiagnosticError, /Up to 3/);
        expect(() => signImage(s, [keys.ec1])).to.throw(DiagnosticError, /already signed/);
        expect(verifySignedImage(s, { digests: [digestOf(keys.rsa1)] })).to.include({ valid: true, block: 2 });
        expect(verifySignedImage(s, { digests: [digestOf(keys.ec0)] })).to.include({ valid: true, block: 1 });
        const none = verifySignedImage(s, { digests: [digestOf(keys.ec1)] });
        expect(none.valid).to.equal(false);
        expect(none.blocks.map(b => b.ok)).to.deep.equal([false, false, false]);
        // several keys at once, like espsecure --keyfile k1 --keyfile k2
        const two = signImage(image, [keys.ec0, keys.ec1]);
        expect(parseSignatureSector(two.subarray(two.length - SECTOR_SIZE)).length).to.equal(2);
        expect(() => signImage(image, [keys.ec0, keys.ec1, keys.ec0, keys.ec1])).to.throw(DiagnosticError, /more than the empty signature blocks/);
    });

    it("revoked digest → not valid, named in the reason; another good block still counts", () => {
        let s = signImage(image, [keys.ec0]);
        const r = verifySignedImage(s, { digests: [], revokedDigests: [digestOf(keys.ec0)] });
        expect(r.valid).to.equal(false);
        expect(r.reason).to.match(/revoked/);
        s = signImage(s, [keys.ec1], { appendSignatures: true });
        const r2 = verifySignedImage(s, { digests: [digestOf(keys.ec1)], revokedDigests: [digestOf(keys.ec0)] });
        expect(r2).to.include({ valid: true, block: 1 });
        expect(r2.blocks[0]!.reason).to.match(/revoked/);
    });

    it("a tampered image byte, signature byte or key byte → not valid with the reason", () => {
        for (const k of [keys.rsa0, keys.ec0]) {
            const s = signImage(image, [k]);
            const trust = { digests: [digestOf(k)] };
            const t1 = Uint8Array.from(s);
            t1[0x100]! ^= 0x01;
            expect(verifySignedImage(t1, trust).reason).to.match(/image digest mismatch/);
            const t2 = Uint8Array.from(s);
            const sigAt = 8192 + (k.kind === "rsa" ? 900 : 120);
            t2[sigAt]! ^= 0x01;
            expect(verifySignedImage(t2, trust).reason).to.match(/CRC mismatch/);
            // fix the CRC: now only the cryptography can notice
            const v = new DataView(t2.buffer, 8192);
            v.setUint32(1196, crc32le(0, t2.subarray(8192, 8192 + 1196)), true);
            expect(verifySignedImage(t2, trust).reason).to.match(/signature verification failed/);
            const t3 = Uint8Array.from(s);
            t3[8192 + 50]! ^= 0x01; // key material: CRC fixed, key digest no longer trusted
            new DataView(t3.buffer, 8192).setUint32(1196, crc32le(0, t3.subarray(8192, 8192 + 1196)), true);
            expect(verifySignedImage(t3, trust).reason).to.match(/key digest does not match/);
        }
    });

    it("RSA block with consistent key digest but wrong rinv is rejected like the ROM would", () => {
        const s = signImage(image, [keys.rsa0]);
        const t = Uint8Array.from(s);
        t[8192 + 500]! ^= 1; // rinv
        new DataView(t.buffer, 8192).setUint32(1196, crc32le(0, t.subarray(8192, 8192 + 1196)), true);
        const block = parseSignatureBlock(t.subarray(8192, 8192 + SIG_BLOCK_SIZE))!;
        const r = checkSignatureSector(t.subarray(8192), sha(t.subarray(0, 8192)), { digests: [block.keyDigest] });
        expect(r.valid).to.equal(false);
        expect(r.reason).to.match(/rinv/);
    });

    it("unsigned image: no signature sector → not valid", () => {
        const r = verifySignedImage(image, { digests: [digestOf(keys.ec0)] });
        expect(r.valid).to.equal(false);
        expect(r.reason).to.match(/no signature sector/);
    });

    it("rejects keys Secure Boot V2 does not support", () => {
        expect(() => loadSigningKey("not a key")).to.throw(DiagnosticError, /PEM private key/);
        const rsa2048 = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        expect(() => loadSigningKey(rsa2048)).to.throw(DiagnosticError, /only supports RSA-3072/);
        const ed = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        expect(() => loadSigningKey(ed)).to.throw(DiagnosticError, /unsupported key/);
    });

    it("P-384 keys sign with SHA-384 blocks that verify", () => {
        const pem = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        const k = loadSigningKey(pem);
        const s = signImage(image, [k]);
        const b = parseSignatureSector(s.subarray(s.length - SECTOR_SIZE))[0]!;
        expect(b.scheme).to.equal("ECDSA-P384");
        expect(b.imageDigest.length).to.equal(48);
        expect(verifySignedImage(s, { digests: [digestOf(k)] }).valid).to.equal(true);
    });
});

describe("Secure Boot V2: fuzzing the signature block parser", () => {
    it("random and mutated blocks never crash; CRC-valid garbage is checked, not thrown", () => {
        const base = new Uint8Array(SIG_BLOCK_SIZE);
        base[0] = 0xe7;
        fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: SIG_BLOCK_SIZE }), fc.constantFrom(2, 3), fc.nat(3), fc.boolean(), (rnd, version, curve, fixCrc) => {
            const b = Uint8Array.from(base);
            b.set(rnd.subarray(0, SIG_BLOCK_SIZE - 4), 4);
            b[1] = version;
            if (version === 3) b[36] = curve;
            if (fixCrc) new DataView(b.buffer).setUint32(1196, crc32le(0, b.subarray(0, 1196)), true);
            const sector = new Uint8Array(SECTOR_SIZE).fill(0xff);
            sector.set(b);
            expect(signatureBlockProblem(b) === undefined).to.equal(fixCrc);
            // the block's own digest and key digest are "trusted", so the cryptographic checks run on garbage
            const r = checkSignatureSector(sector, b.slice(4, 36), { digests: [sha(b.subarray(36, 812)), sha(b.subarray(36, 101))] }, rnd);
            expect(r.valid).to.equal(false);
            expect(r.blocks.length).to.equal(3);
        }), { numRuns: 200 });
    });
    it("truncated sectors and random bytes", () => {
        fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), b => {
            parseSignatureSector(b);
            const r = checkSignatureSector(b, sha(b), { digests: [] });
            expect(r.valid).to.equal(false);
        }), { numRuns: 100 });
    });
});
