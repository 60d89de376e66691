/**
 * The fast paths of `generate` against the general code they replace: the version 2-M QR encoder and its
 * bit-packed mask penalty against qrcode, the DAC template of pki/issue.ts against the general issuer, and the
 * pipelined build (asynchronous PBKDF2) against the synchronous one.
 */
import { expect } from "chai";
import fc from "fast-check";
import QRCode from "qrcode";
import { issueCertificate, issueDac } from "../pki/issue.js";
import { SeededRng, keyFromScalar } from "../pki/keys.js";
import { createTestPki } from "../pki/testpki.js";
import { keyIdentifier } from "../pki/issue.js";
import { parseCertificate, skidOf } from "../pki/x509.js";
import { generateVerifier, generateVerifierAsync } from "../spake2p/verifier.js";
import { formatBitsM, penaltyBits, qrMatrix, qrMatrixGeneric } from "./qrlabel.js";

const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

function qrcodeModules(text: string, version?: number): number[] {
    const ref = QRCode.create([{ data: text, mode: "alphanumeric" }], { errorCorrectionLevel: "M", ...(version ? { version } : {}) });
    return Array.from(ref.modules.data as unknown as ArrayLike<number>, x => (x ? 1 : 0));
}

describe("generate fast paths", () => {
    it("QR 2-M fast encoder: every module (mask choice included) as qrcode's, for any alphanumeric text of 0..38 characters", () => {
        fc.assert(fc.property(fc.array(fc.constantFrom(...ALNUM), { minLength: 0, maxLength: 38 }), chars => {
            const text = chars.join("");
            const mine = qrMatrix(text);
            expect(mine.size).to.equal(25);
            expect([...mine.modules]).to.deep.equal(qrcodeModules(text, 2));
            expect([...qrMatrixGeneric(text).modules]).to.deep.equal([...mine.modules]);
        }), { numRuns: 150 });
    });

    it("QR format information of level M: the eight values of ISO/IEC 18004 Table C.1", () => {
        expect([0, 1, 2, 3, 4, 5, 6, 7].map(formatBitsM)).to.deep.equal([0x5412, 0x5125, 0x5e7c, 0x5b4b, 0x45f9, 0x40ce, 0x4f97, 0x4aa0]);
    });

    it("QR: 39+ characters leave the fast path (version 3+, still qrcode's modules)", () => {
        const text = "MT:" + "A".repeat(36);
        const mine = qrMatrix(text);
        expect(mine.size).to.be.greaterThan(25);
        expect([...mine.modules]).to.deep.equal(qrcodeModules(text));
    });

    it("QR mask penalty on bit-packed rows equals qrcode's four rules computed cell by cell", () => {
        const size = 25;
        const reference = (d: Uint8Array): number => {
            // qrcode's getPenaltyN1..N4, transcribed
            let n1 = 0, n2 = 0, n3 = 0, dark = 0;
            for (let a = 0; a < size; a++) {
                let rr = 0, lr = -1, rc = 0, lc = -1, br = 0, bc = 0;
                for (let b = 0; b < size; b++) {
                    const vr = d[a * size + b]!, vc = d[b * size + a]!;
                    if (vr === lr) rr++; else { if (rr >= 5) n1 += 3 + rr - 5; lr = vr; rr = 1; }
                    if (vc === lc) rc++; else { if (rc >= 5) n1 += 3 + rc - 5; lc = vc; rc = 1; }
                    br = ((br << 1) & 0x7ff) | vr;
                    bc = ((bc << 1) & 0x7ff) | vc;
                    if (b >= 10 && (br === 0x5d0 || br === 0x05d)) n3++;
                    if (b >= 10 && (bc === 0x5d0 || bc === 0x05d)) n3++;
                }
                if (rr >= 5) n1 += 3 + rr - 5;
                if (rc >= 5) n1 += 3 + rc - 5;
            }
            for (let r = 0; r < size - 1; r++) for (let c = 0; c < size - 1; c++) {
                const s = d[r * size + c]! + d[r * size + c + 1]! + d[(r + 1) * size + c]! + d[(r + 1) * size + c + 1]!;
                if (s === 0 || s === 4) n2++;
            }
            for (const v of d) dark += v;
            return n1 + n2 * 3 + n3 * 40 + Math.abs(Math.ceil((dark * 100) / d.length / 5) - 10) * 10;
        };
        fc.assert(fc.property(fc.uint8Array({ minLength: size * size, maxLength: size * size }), fc.integer({ min: 0, max: 7 }), (bytes, bias) => {
            // biased cells give long runs and finder-like patterns as well as noise
            const d = Uint8Array.from(bytes, (b, i) => (bias === 0 ? b & 1 : bias < 4 ? (b < 40 * bias ? 1 : 0) : ((i % size) >> (bias - 3)) & 1));
            const rows = new Int32Array(size), cols = new Int32Array(size);
            for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) if (d[r * size + c]) { rows[r]! |= 1 << c; cols[c]! |= 1 << r; }
            expect(penaltyBits(rows, cols, size)).to.equal(reference(d));
        }), { numRuns: 300 });
    });

    it("DAC template (byte layout per CN length): byte-identical to the general issuer (seeded), SKID exposed without parsing", () => {
        const pki = createTestPki({ vid: 0xfff2, pid: 0x8001, seed: "fastpaths" });
        const issuer = { cert: pki.pai.cert, key: pki.pai.key };
        fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.oneof(fc.string({ minLength: 0, maxLength: 64 }), fc.string({ unit: "binary", maxLength: 40 }), fc.uuid()), fc.integer({ min: 0, max: 0xffff }), (seed, cn, pid) => {
            const key = new SeededRng(seed).key();
            const common = { key, issuer, vid: 0xfff2, pid, commonName: cn, notBefore: new Date("2024-01-01T00:00:00Z"), notAfter: new Date("9999-12-31T23:59:59Z") };
            const fast = issueDac({ ...common, rng: new SeededRng(seed) });
            const general = issueCertificate({ ...common, kind: "DAC", rng: new SeededRng(seed), overrides: {} });
            expect(Buffer.from(fast.der).equals(Buffer.from(general.der))).to.equal(true);
            expect(Buffer.from(fast.skid!).toString("hex")).to.equal(Buffer.from(skidOf(parseCertificate(fast.der))!).toString("hex"));
            expect(Buffer.from(fast.skid!).equals(Buffer.from(keyIdentifier(key.publicKey)))).to.equal(true);
        }), { numRuns: 60 });
        // unseeded: a valid certificate of the key, signed by the PAI
        const k = keyFromScalar(new Uint8Array(32).fill(7));
        const dac = issueDac({ key: k, issuer, vid: 0xfff2, pid: 0x8001, commonName: "x", notBefore: new Date("2024-01-01T00:00:00Z"), notAfter: new Date("2124-01-01T00:00:00Z") });
        const parsed = parseCertificate(dac.der);
        expect(Buffer.from(parsed.publicKey).equals(Buffer.from(k.publicKey))).to.equal(true);
    });

    it("asynchronous verifier (pipelined generate) equals the synchronous one", async () => {
        const salt = new Uint8Array(32).fill(3);
        for (const passcode of [20202021, 1, 99999998]) {
            const a = await generateVerifierAsync(passcode, salt, 1000);
            expect(Buffer.from(a.verifier).equals(Buffer.from(generateVerifier(passcode, salt, 1000).verifier))).to.equal(true);
        }
    });
});

describe("generate fast paths: SVG label", () => {
    it("qrSvgBytes writes the same document as the string builder it replaced", async () => {
        const { qrSvg, qrSvgBytes } = await import("./qrlabel.js");
        const reference = (m: { size: number; modules: Uint8Array }, quiet: number): string => {
            const dim = m.size + 2 * quiet;
            let d = "";
            for (let y = 0; y < m.size; y++) {
                for (let x = 0; x < m.size; x++) {
                    if (m.modules[y * m.size + x] !== 1) continue;
                    let run = 1;
                    while (x + run < m.size && m.modules[y * m.size + x + run] === 1) run++;
                    d += `M${x + quiet} ${y + quiet}h${run}v1h-${run}z`;
                    x += run - 1;
                }
            }
            return `<?xml version="1.0" encoding="UTF-8"?>\n` +
                `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${dim} ${dim}" width="${dim * 6}" height="${dim * 6}" shape-rendering="crispEdges">` +
                `<rect width="${dim}" height="${dim}" fill="#fff"/><path fill="#000" d="${d}"/></svg>\n`;
        };
        fc.assert(fc.property(fc.constantFrom(21, 25, 29, 57), fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 4, 1000), fc.integer(), (size, density, quiet, seed) => {
            let x = seed | 1;
            const modules = Uint8Array.from({ length: size * size }, () => {
                x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
                return ((x >>> 0) % 4) < density ? 1 : 0;
            });
            const m = { size, modules };
            expect(qrSvg(m, quiet)).to.equal(reference(m, quiet));
            expect(Buffer.from(qrSvgBytes(m, quiet)).toString("latin1")).to.equal(reference(m, quiet));
        }), { numRuns: 60 });
    });
});
