import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { p256 } from "@noble/curves/nist.js";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { describeWithVectors } from "../../emulator/testing/vectors.js";
import { isValidPasscode } from "../onboarding/rules.js";
import {
    computeWs,
    generateVerifier,
    generateVerifierAsync,
    P256_N,
    parseVerifier,
    SPAKE2P_M_P256,
    SPAKE2P_N_P256,
    spake2pVerifierRound,
    verifyPasscodeAgainstVerifier,
    verifyPasscodeAgainstVerifierAsync,
} from "./index.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fromHex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const SALT = Uint8Array.from(Buffer.from("SPAKE2P Key Salt"));

function expectDiag(fn: () => unknown, code = "CHIP_ERROR_INVALID_ARGUMENT"): DiagnosticError {
    try {
        fn();
    } catch (e) {
        expect(e, String(e)).to.be.instanceOf(DiagnosticError);
        expect((e as DiagnosticError).code).to.equal(code);
        return e as DiagnosticError;
    }
    expect.fail("expected a DiagnosticError");
}

describeWithVectors("spake2p: connectedhomeip spake2p.py gen-verifier vectors", "spake2p", dir => {
    interface V {
        passcode: number;
        salt_b64: string;
        salt_hex: string;
        iterations: number;
        pbkdf2_output_hex: string;
        w0_hex: string;
        w1_hex: string;
        L_hex: string;
        verifier_b64: string;
        verifier_len: number;
    }
    const vectors = (JSON.parse(readFileSync(join(dir, "verifier_vectors.json"), "utf8")) as { vectors: V[] }).vectors;

    it("has vectors", () => expect(vectors.length).to.be.greaterThan(0));

    for (const v of vectors) {
        it(`passcode ${v.passcode}, ${v.iterations} iterations: ws, w0, w1, L, verifier (sync and async)`, async () => {
            const salt = new Uint8Array(Buffer.from(v.salt_b64, "base64"));
            expect(hex(salt)).to.equal(v.salt_hex);
            expect(hex(computeWs(v.passcode, salt, v.iterations))).to.equal(v.pbkdf2_output_hex);
            const r = generateVerifier(v.passcode, salt, v.iterations);
            expect(hex(r.w0)).to.equal(v.w0_hex);
            expect(hex(r.w1)).to.equal(v.w1_hex);
            expect(hex(r.L)).to.equal(v.L_hex);
            expect(r.verifier).to.have.length(v.verifier_len);
            expect(Buffer.from(r.verifier).toString("base64")).to.equal(v.verifier_b64);
            const a = await generateVerifierAsync(v.passcode, salt, v.iterations);
            expect(Buffer.from(a.verifier).toString("base64")).to.equal(v.verifier_b64);
            const stored = new Uint8Array(Buffer.from(v.verifier_b64, "base64"));
            expect(hex(parseVerifier(stored).L)).to.equal(v.L_hex);
            expect(verifyPasscodeAgainstVerifier(v.passcode, salt, v.iterations, stored)).to.equal(true);
            expect(verifyPasscodeAgainstVerifier(v.passcode + 1, salt, v.iterations, stored)).to.equal(false);
        });
    }

    const rfc = JSON.parse(readFileSync(join(dir, "spake2p_rfc_vectors.json"), "utf8")) as {
        M_N_points: { spake2p_M_p256: string; spake2p_N_p256: string };
        rfc_test_vectors: Array<Record<string, string>>;
    };

    it("M and N are connectedhomeip's points, and on P-256", () => {
        expect(hex(SPAKE2P_M_P256)).to.equal(rfc.M_N_points.spake2p_M_p256);
        expect(hex(SPAKE2P_N_P256)).to.equal(rfc.M_N_points.spake2p_N_p256);
        for (const p of [SPAKE2P_M_P256, SPAKE2P_N_P256]) p256.Point.fromBytes(p).assertValidity();
    });

    for (const t of rfc.rfc_test_vectors) {
        it(`draft-01 transcript ${t.name}: L = w1·G, then Y, Z, V, Ka, Ke, KcA, KcB and both MACs from the verifier side`, () => {
            expect(hex(p256.Point.BASE.multiply(BigInt("0x" + t.w1)).toBytes(false))).to.equal(t.L);
            expect(hex(p256.Point.BASE.multiply(BigInt("0x" + t.x)).add(p256.Point.fromBytes(SPAKE2P_M_P256).multiply(BigInt("0x" + t.w0))).toBytes(false))).to.equal(t.X);
            const o = spake2pVerifierRound({
                context: Buffer.from(t.context!),
                proverIdentity: Buffer.from(t.prover_identity!),
                verifierIdentity: Buffer.from(t.verifier_identity!),
                w0: fromHex(t.w0!),
                L: fromHex(t.L!),
                X: fromHex(t.X!),
                y: fromHex(t.y!),
            });
            expect(hex(o.Y)).to.equal(t.Y);
            expect(hex(o.Z)).to.equal(t.Z);
            expect(hex(o.V)).to.equal(t.V);
            expect(hex(o.Ka)).to.equal(t.Ka);
            expect(hex(o.Ke)).to.equal(t.Ke);
            expect(hex(o.KcA)).to.equal(t.KcA);
            expect(hex(o.KcB)).to.equal(t.KcB);
            expect(hex(o.macKcA)).to.equal(t.MAC_KcA);
            expect(hex(o.macKcB)).to.equal(t.MAC_KcB);
        });
    }
});

describe("spake2p: parameter rules", () => {
    it("salt 16..32 bytes, iterations 1000..100000, valid passcodes only (sync and async)", async () => {
        expect(() => generateVerifier(20202021, new Uint8Array(32), 100000 / 100)).to.not.throw();
        expect(expectDiag(() => generateVerifier(20202021, new Uint8Array(15), 1000)).context.field).to.equal("salt");
        expectDiag(() => generateVerifier(20202021, new Uint8Array(33), 1000));
        expectDiag(() => generateVerifier(20202021, SALT, 999));
        expectDiag(() => generateVerifier(20202021, SALT, 100001));
        expectDiag(() => generateVerifier(20202021, SALT, 1000.5));
        expectDiag(() => generateVerifier(12345678, SALT, 1000));
        expectDiag(() => generateVerifier(0, SALT, 1000));
        expectDiag(() => generateVerifier(99999999, SALT, 1000));
        let caught: unknown;
        await generateVerifierAsync(20202021, new Uint8Array(15), 1000).catch(e => (caught = e));
        expect(caught).to.be.instanceOf(DiagnosticError);
    });

    it("the PBKDF2 input is the passcode as uint32 little-endian (independent check with WebCrypto)", async () => {
        const key = await crypto.subtle.importKey("raw", Uint8Array.of(0x25, 0x42, 0x34, 0x01), "PBKDF2", false, ["deriveBits"]);
        const bits = new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: SALT, iterations: 1000 }, key, 640));
        expect(20202021).to.equal(0x01344225);
        expect(hex(computeWs(20202021, SALT, 1000))).to.equal(hex(bits));
    });
});

describe("spake2p: verifier parsing", () => {
    const good = generateVerifier(20202021, SALT, 1000).verifier;

    it("rejects a wrong length, w0 ≥ n, a compressed or off-curve L", () => {
        expectDiag(() => parseVerifier(good.slice(0, 96)));
        expectDiag(() => parseVerifier(new Uint8Array(98)));
        const bigW0 = good.slice();
        bigW0.set(fromHex(P256_N.toString(16)), 0);
        expect(expectDiag(() => parseVerifier(bigW0)).context.offset).to.equal(0);
        const compressed = good.slice();
        compressed[32] = 0x02;
        expect(expectDiag(() => parseVerifier(compressed)).context.offset).to.equal(32);
        const offCurve = good.slice();
        offCurve[96] ^= 1;
        expectDiag(() => parseVerifier(offCurve));
        expectDiag(() => verifyPasscodeAgainstVerifier(20202021, SALT, 1000, offCurve));
    });

    it("w0 = n − 1 is accepted (the bound is exact)", () => {
        const edge = good.slice();
        edge.set(fromHex((P256_N - 1n).toString(16)), 0);
        expect(parseVerifier(edge).w0).to.equal(P256_N - 1n);
    });

    it("random and mutated verifiers → DiagnosticError or a parse, never another exception", () => {
        fc.assert(
            fc.property(fc.uint8Array({ minLength: 0, maxLength: 100 }), fc.nat(96), fc.integer({ min: 1, max: 255 }), (junk, pos, x) => {
                const mutated = good.slice();
                mutated[pos] ^= x;
                for (const bytes of [junk, mutated]) {
                    try {
                        parseVerifier(bytes);
                    } catch (e) {
                        if (!(e instanceof DiagnosticError)) throw e;
                    }
                }
            }),
            { numRuns: 300 },
        );
    });

    it("random valid parameters: the verifier parses and verifies only its own passcode", async () => {
        await fc.assert(
            fc.asyncProperty(
                fc.integer({ min: 1, max: 99999997 }).filter(p => isValidPasscode(p) && isValidPasscode(p + 1)),
                fc.uint8Array({ minLength: 16, maxLength: 32 }),
                fc.integer({ min: 1000, max: 1200 }),
                async (passcode, salt, iterations) => {
                    const v = generateVerifier(passcode, salt, iterations);
                    expect(hex(parseVerifier(v.verifier).w0Bytes)).to.equal(hex(v.w0));
                    expect(hex(p256.Point.BASE.multiply(BigInt("0x" + hex(v.w1))).toBytes(false))).to.equal(hex(v.L));
                    expect(await verifyPasscodeAgainstVerifierAsync(passcode, salt, iterations, v.verifier)).to.equal(true);
                    expect(verifyPasscodeAgainstVerifier(passcode + 1, salt, iterations, v.verifier)).to.equal(false);
                },
            ),
            { numRuns: 20 },
        );
    });
});
