import { expect } from "chai";
import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { createAttestationResponse, deconstructAttestationElements } from "./attestation.js";
import { type CertificationElements, createCertificationDeclaration, decodeCertificationElements, encodeCertificationElements, parseCertificationDeclaration, verifyCms } from "./cd.js";
import { parseDer } from "./der.js";
import { type IssueOptions, NO_EXPIRY, issueCertificate, issueDac, issuePai } from "./issue.js";
import { SeededRng, generateKey, keyFromScalar, randomKey, loadPrivateKey, pem, pkcs8Der, publicKeyObject, sec1Der } from "./keys.js";
import { ATTESTATION_RESULTS } from "./results.js";
import { createTestPki } from "./testpki.js";
import { decodeTlv } from "./tlv.js";
import { makeTrustStore, paaEntry } from "./trust.js";
import { type AttestationInput, verifyAttestation } from "./verify.js";
import { KU, OID, parseCertificate } from "./x509.js";

const P256_ORDER = p256.Point.CURVE().n;

const VID = 0xfff1, PID = 0x8000;
const pki = createTestPki({ vid: VID, pid: PID, seed: "pki.test" });

function hasOpenssl(): boolean {
    try {
        execFileSync("openssl", ["version"], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

function input(dac: { der: Uint8Array; key: Parameters<typeof createAttestationResponse>[0]["dacKey"] }, o: { pai?: Uint8Array; cd?: Uint8Array; vid?: number; pid?: number } = {}): AttestationInput {
    const r = createAttestationResponse({ certificationDeclaration: o.cd ?? pki.cd, dacKey: dac.key });
    return { dac: dac.der, pai: o.pai ?? pki.pai.der, ...r, vendorId: o.vid ?? VID, productId: o.pid ?? PID };
}

describe("pki: issuing", () => {
    it("issues a chain that our verifier accepts (and refuses the test CD signer unless allowed)", () => {
        const dac = pki.issueDac();
        expect(verifyAttestation(input(dac), pki.trustStore(), { allowTestKeys: true }).result).to.equal("Success");
        expect(verifyAttestation(input(dac), pki.trustStore()).result).to.equal("CertificationDeclarationNoCertificateFound");
    });

    it("follows the Matter profile field by field", () => {
        const dac = pki.issueDac();
        const c = dac.cert;
        expect(c.version).to.equal(3);
        expect(c.signatureOid).to.equal(OID.ecdsaWithSHA256);
        expect(c.curveOid).to.equal(OID.prime256v1);
        expect(c.subject.find(a => a.oid === OID.matterVid)!.text).to.equal("FFF1");
        expect(c.subject.find(a => a.oid === OID.matterPid)!.text).to.equal("8000");
        expect(c.serial > 0n).to.equal(true);
        const paa = pki.paa.cert;
        expect(paa.notAfter.getTime()).to.equal(NO_EXPIRY.getTime());
        // the no-expiry date is a GeneralizedTime 99991231235959Z in the DER
        expect(Buffer.from(pki.paa.der).includes(Buffer.from("18 0f 39 39 39 39 31 32 33 31 32 33 35 39 35 39 5a".replace(/ /g, ""), "hex"))).to.equal(true);
    });

    it("is reproducible with a seed and random without", () => {
        const a = createTestPki({ vid: VID, pid: PID, seed: "s" }), b = createTestPki({ vid: VID, pid: PID, seed: "s" });
        expect(Buffer.from(a.issueDac().der).equals(Buffer.from(b.issueDac().der))).to.equal(true);
        expect(Buffer.from(a.cd).equals(Buffer.from(b.cd))).to.equal(true);
        const c = createTestPki({ vid: VID, pid: PID });
        expect(Buffer.from(c.paa.der).equals(Buffer.from(a.paa.der))).to.equal(false);
    });

    it("keys round-trip through SEC1, PKCS#8 (DER and PEM) and raw 32 bytes", () => {
        const k = generateKey();
        for (const form of [sec1Der(k), pkcs8Der(k), new TextEncoder().encode(pem("EC PRIVATE KEY", sec1Der(k))), new TextEncoder().encode(pem("PRIVATE KEY", pkcs8Der(k))), k.privateKey]) {
            const l = loadPrivateKey(form);
            expect(Buffer.from(l.publicKey).equals(Buffer.from(k.publicKey))).to.equal(true);
        }
        expect(Buffer.from(keyFromScalar(k.privateKey).publicKey).equals(Buffer.from(k.publicKey))).to.equal(true);
    });

    it("SEC1 and PKCS#8 DER (fixed-layout fast path) are byte-for-byte what OpenSSL exports for the same key", () => {
        fc.assert(
            fc.property(fc.bigInt({ min: 1n, max: P256_ORDER - 1n }), d => {
                const k = keyFromScalar(new Uint8Array(Buffer.from(d.toString(16).padStart(64, "0"), "hex")));
                const ko = createPrivateKey({ key: { kty: "EC", crv: "P-256", d: Buffer.from(k.privateKey).toString("base64url"), x: Buffer.from(k.publicKey.subarray(1, 33)).toString("base64url"), y: Buffer.from(k.publicKey.subarray(33)).toString("base64url") }, format: "jwk" });
                expect(Buffer.from(sec1Der(k)).equals(ko.export({ format: "der", type: "sec1" }))).to.equal(true);
                expect(Buffer.from(pkcs8Der(k)).equals(ko.export({ format: "der", type: "pkcs8" }))).to.equal(true);
            }),
            { numRuns: 40 },
        );
    });

    it("keyFromScalar and randomKey (OpenSSL point multiplication, lazy KeyObject) agree with @noble/curves and sign verifiably", () => {
        fc.assert(
            fc.property(fc.bigInt({ min: 1n, max: P256_ORDER - 1n }), d => {
                const scalar = new Uint8Array(Buffer.from(d.toString(16).padStart(64, "0"), "hex"));
                expect(Buffer.from(keyFromScalar(scalar).publicKey).equals(Buffer.from(p256.getPublicKey(scalar, false)))).to.equal(true);
            }),
            { numRuns: 30 },
        );
        const r = randomKey();
        expect(Buffer.from(p256.getPublicKey(r.privateKey, false)).equals(Buffer.from(r.publicKey))).to.equal(true);
        // one generator object is reused: each call must still draw a new key pair and keep the earlier one intact
        const r2 = randomKey();
        expect(Buffer.from(r2.privateKey).equals(Buffer.from(r.privateKey))).to.equal(false);
        expect(Buffer.from(p256.getPublicKey(r2.privateKey, false)).equals(Buffer.from(r2.publicKey))).to.equal(true);
        expect(Buffer.from(p256.getPublicKey(r.privateKey, false)).equals(Buffer.from(r.publicKey))).to.equal(true);
        const sig = nodeSign("sha256", Buffer.from("m"), r.keyObject);
        expect(nodeVerify("sha256", Buffer.from("m"), createPublicKey(r.keyObject), sig)).to.equal(true);
        expect(() => keyFromScalar(new Uint8Array(32))).to.throw(DiagnosticError);
    });

    (hasOpenssl() ? it : it.skip)("issued PAA → PAI → DAC verify under `openssl verify -x509_strict` (skipped when openssl is missing)", () => {
        const dir = mkdtempSync(join(tmpdir(), "mfgsim-pki-"));
        try {
            const fresh = createTestPki({ vid: VID, pid: PID });
            const dac = fresh.issueDac();
            writeFileSync(join(dir, "paa.pem"), fresh.paa.pem);
            writeFileSync(join(dir, "pai.pem"), fresh.pai.pem);
            writeFileSync(join(dir, "dac.pem"), dac.pem);
            const out = execFileSync("openssl", ["verify", "-x509_strict", "-partial_chain", "-CAfile", join(dir, "paa.pem"), "-untrusted", join(dir, "pai.pem"), join(dir, "dac.pem")], { encoding: "utf8" });
            expect(out).to.match(/dac\.pem: OK/);
            // and a DAC signed by a stranger's key does not
            const rogue = issueDac({ vid: VID, pid: PID, issuer: { cert: fresh.pai.cert, key: generateKey() } });
            writeFileSync(join(dir, "rogue.pem"), rogue.pem);
            expect(() => execFileSync("openssl", ["verify", "-CAfile", join(dir, "paa.pem"), "-untrusted", join(dir, "pai.pem"), join(dir, "rogue.pem")], { stdio: "pipe" })).to.throw();
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

type Mutation = { name: string; expect: keyof typeof ATTESTATION_RESULTS; run: () => { inp: AttestationInput; trust?: ReturnType<typeof pki.trustStore>; now?: Date; allowTestKeys?: boolean } };

function mutatedDac(o: Partial<IssueOptions>): ReturnType<typeof issueDac> {
    return issueCertificate({ kind: "DAC", vid: VID, pid: PID, issuer: pki.pai, notBefore: new Date(Date.UTC(2024, 0, 2)), ...o });
}
function mutatedPai(o: Partial<IssueOptions>): ReturnType<typeof issuePai> {
    return issueCertificate({ kind: "PAI", vid: VID, issuer: pki.paa, notBefore: new Date(Date.UTC(2024, 0, 1)), ...o });
}
function cdWith(c: Partial<CertificationElements>, certificationType = 0): Uint8Array {
    return createCertificationDeclaration({ ...pki.cdContent, certificationType, ...c }, { key: pki.cdSigner.key, skid: pki.trustStore().cdSigners.at(-1)!.skid });
}

const MUTATIONS: Mutation[] = [
    { name: "PAI with another VID", expect: "DacVendorIdMismatch", run: () => { const pai = mutatedPai({ vid: 0xfff2 }); return { inp: input(mutatedDac({ issuer: pai }), { pai: pai.der }) }; } },
    { name: "PAI PID ≠ DAC PID", expect: "DacProductIdMismatch", run: () => { const pai = mutatedPai({ pid: 0x8001 }); return { inp: input(mutatedDac({ issuer: pai }), { pai: pai.der }) }; } },
    { name: "DAC with CA=true", expect: "DacFormatInvalid", run: () => ({ inp: input(mutatedDac({ overrides: { basicConstraints: { ca: true } } })) }) },
    { name: "DAC without SKID", expect: "DacFormatInvalid", run: () => ({ inp: input(mutatedDac({ overrides: { skid: null } })) }) },
    { name: "DAC without AKID", expect: "DacFormatInvalid", run: () => ({ inp: input(mutatedDac({ overrides: { akid: null } })) }) },
    { name: "DAC keyUsage with keyCertSign", expect: "DacFormatInvalid", run: () => ({ inp: input(mutatedDac({ overrides: { keyUsage: { mask: KU.digitalSignature | KU.keyCertSign } } })) }) },
    { name: "DAC basicConstraints not critical", expect: "DacFormatInvalid", run: () => ({ inp: input(mutatedDac({ overrides: { basicConstraints: { critical: false } } })) }) },
    { name: "DAC 19-byte SKID", expect: "DacFormatInvalid", run: () => ({ inp: input(mutatedDac({ overrides: { skid: new Uint8Array(19).fill(1) } })) }) },
    { name: "DAC signature algorithm ecdsa-with-SHA1", expect: "DacFormatInvalid", run: () => ({ inp: input(mutatedDac({ overrides: { signatureAlgorithm: OID.ecdsaWithSHA1 } })) }) },
    { name: "PAI pathLen 1", expect: "PaiFormatInvalid", run: () => { const pai = mutatedPai({ overrides: { basicConstraints: { pathLen: 1 } } }); return { inp: input(mutatedDac({ issuer: pai }), { pai: pai.der }) }; } },
    { name: "PAI without cRLSign", expect: "PaiFormatInvalid", run: () => { const pai = mutatedPai({ overrides: { keyUsage: { mask: KU.keyCertSign } } }); return { inp: input(mutatedDac({ issuer: pai }), { pai: pai.der }) }; } },
    { name: "DAC signed by the wrong key", expect: "DacSignatureInvalid", run: () => ({ inp: input(mutatedDac({ issuer: { cert: pki.pai.cert, key: generateKey() } })) }) },
    { name: "DAC expired (clock)", expect: "DacExpired", run: () => ({ inp: input(mutatedDac({ notAfter: new Date(Date.UTC(2025, 0, 1)) })), now: new Date(Date.UTC(2026, 0, 1)) }) },
    { name: "DAC not yet valid (clock)", expect: "DacExpired", run: () => ({ inp: input(mutatedDac({})), now: new Date(Date.UTC(2023, 0, 1)) }) },
    { name: "PAI valid only after the DAC's notBefore", expect: "DacSignatureInvalid", run: () => { const pai = mutatedPai({ notBefore: new Date(Date.UTC(2024, 5, 1)) }); return { inp: input(mutatedDac({ issuer: pai }), { pai: pai.der }) }; } },
    { name: "PAA not in the trust store", expect: "PaaNotFound", run: () => ({ inp: input(mutatedDac({})), trust: makeTrustStore({ paas: [], paaSource: "empty" }) }) },
    { name: "CD without the product id", expect: "CertificationDeclarationInvalidProductId", run: () => ({ inp: input(mutatedDac({}), { cd: cdWith({ productIds: [0x8001] }) }) }) },
    { name: "CD for another vendor", expect: "CertificationDeclarationInvalidVendorId", run: () => ({ inp: input(mutatedDac({}), { cd: cdWith({ vendorId: 0xfff2 }) }) }) },
    { name: "official CD signed by a test key", expect: "CertificationDeclarationNoCertificateFound", run: () => ({ inp: input(mutatedDac({}), { cd: cdWith({}, 2) }) }) },
    { name: "authorized_paa_list without our PAA", expect: "CertificationDeclarationInvalidPAA", run: () => ({ inp: input(mutatedDac({}), { cd: cdWith({ authorizedPaaList: [new Uint8Array(20).fill(7)] }) }) }) },
    { name: "empty authorized_paa_list", expect: "CertificationDeclarationInvalidPAA", run: () => ({ inp: input(mutatedDac({}), { cd: cdWith({ authorizedPaaList: [] }) }) }) },
    { name: "wrong nonce", expect: "AttestationNonceMismatch", run: () => { const i = input(mutatedDac({})); return { inp: { ...i, nonce: new Uint8Array(32).fill(9) } }; } },
    { name: "signature by another key", expect: "AttestationSignatureInvalid", run: () => { const d = mutatedDac({}); const i = input({ der: d.der, key: generateKey() }); return { inp: i }; } },
    { name: "65-byte signature", expect: "AttestationSignatureInvalidFormat", run: () => { const i = input(mutatedDac({})); return { inp: { ...i, signature: new Uint8Array(65) } }; } },
    { name: "no PAI", expect: "PaiMissing", run: () => { const i = input(mutatedDac({})); return { inp: { ...i, pai: new Uint8Array(0) } }; } },
    { name: "Basic Information VID differs", expect: "CertificationDeclarationInvalidVendorId", run: () => ({ inp: input(mutatedDac({}), { vid: 0xfff3 }) }) },
];

describe("pki: verifier against single-field mutations of a valid chain", () => {
    it("the unmutated chain passes at a fixed clock", () => {
        const v = verifyAttestation(input(mutatedDac({})), pki.trustStore(), { allowTestKeys: true, now: new Date(Date.UTC(2026, 0, 1)) });
        expect(v.result, v.detail).to.equal("Success");
    });
    it("every mutation fails with its expected result (property over the mutation space)", () => {
        fc.assert(fc.property(fc.constantFrom(...MUTATIONS), m => {
            const r = m.run();
            const v = verifyAttestation(r.inp, r.trust ?? pki.trustStore(), { allowTestKeys: r.allowTestKeys ?? true, now: r.now ?? new Date(Date.UTC(2026, 0, 1)) });
            expect(v.result, `${m.name}: ${v.detail}`).to.equal(m.expect);
            expect(v.code).to.equal(ATTESTATION_RESULTS[m.expect]);
            expect(v.detail.startsWith(`${m.expect}: `)).to.equal(true);
        }), { numRuns: 60 });
    });
    it("names expected vs found in details", () => {
        const pai = mutatedPai({ vid: 0xfff2 });
        const v = verifyAttestation(input(mutatedDac({ issuer: pai }), { pai: pai.der }), pki.trustStore(), { allowTestKeys: true });
        expect(v.detail).to.equal("DacVendorIdMismatch: DAC VID 0xFFF1 ≠ PAI VID 0xFFF2");
        const nf = verifyAttestation(input(mutatedDac({})), makeTrustStore({ paas: [paaEntry(createTestPki({ vid: VID, pid: PID }).paa.der, "other")], paaSource: "/trust" }), { allowTestKeys: true });
        expect(nf.detail).to.match(/^PaaNotFound: no PAA with SKID [0-9A-F]{40} in trust store \/trust .*PAI AKID is [0-9A-F]{40}$/);
    });
});

describe("pki: Certification Declarations", () => {
    const content: CertificationElements = { ...pki.cdContent, productIds: [0x8000, 0x8001], dacOriginVendorId: 0xfff2, dacOriginProductId: 0x8005, authorizedPaaList: [new Uint8Array(20).fill(3)] };
    const signer = { key: pki.cdSigner.key, skid: pki.trustStore().cdSigners.at(-1)!.skid };
    it("round-trips build → sign → parse → same fields, and the signature verifies", () => {
        const der = createCertificationDeclaration(content, signer);
        const { cms, content: back } = parseCertificationDeclaration(der);
        expect({ ...back, unknownTags: undefined }).to.deep.equal({ ...content, unknownTags: undefined });
        expect(Buffer.from(cms.signerKeyId).equals(Buffer.from(signer.skid))).to.equal(true);
        expect(cms.digestAlgorithm).to.equal(OID.sha256);
        verifyCms(der, publicKeyObject(pki.cdSigner.key.publicKey));
    });
    it("CD content properties: arbitrary valid contents round-trip", () => {
        fc.assert(fc.property(fc.record({
            vendorId: fc.integer({ min: 0, max: 0xffff }), productIds: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 100 }),
            deviceTypeId: fc.integer({ min: 0, max: 0xffffffff }), certificateId: fc.stringMatching(/^[A-Z0-9]{19}$/), versionNumber: fc.integer({ min: 0, max: 0xffff }),
            certificationType: fc.integer({ min: 0, max: 2 }),
        }), r => {
            const c = { ...pki.cdContent, ...r };
            const back = decodeCertificationElements(encodeCertificationElements(c));
            expect({ ...back, unknownTags: undefined }).to.deep.equal({ ...c, unknownTags: undefined });
        }), { numRuns: 100 });
    });
    it("any bit flip → DiagnosticError, or a verification failure (602/603), never a pass or a crash", () => {
        const der = createCertificationDeclaration(content, signer);
        const key = publicKeyObject(pki.cdSigner.key.publicKey);
        fc.assert(fc.property(fc.integer({ min: 0, max: der.length * 8 - 1 }), bit => {
            const m = Uint8Array.from(der);
            m[bit >> 3]! ^= 0x80 >> (bit & 7);
            try {
                const cms = verifyCms(m, key);
                // the signature still verified: only possible when the flip hit no signed byte (e.g. the signer SKID)
                decodeCertificationElements(cms.content);
                expect(Buffer.from(cms.content).equals(Buffer.from(parseCertificationDeclaration(der).cms.content))).to.equal(true);
            } catch (e) {
                expect(e).to.be.instanceOf(DiagnosticError);
            }
        }), { numRuns: 300 });
    });
    it("refuses invalid content when building", () => {
        expect(() => encodeCertificationElements({ ...pki.cdContent, productIds: [] })).to.throw(DiagnosticError);
        expect(() => encodeCertificationElements({ ...pki.cdContent, certificateId: "short" })).to.throw(DiagnosticError);
    });
});

describe("pki: decoders never crash on arbitrary bytes", () => {
    const dac = pki.issueDac();
    const samples = [dac.der, pki.cd, createAttestationResponse({ certificationDeclaration: pki.cd, dacKey: dac.key }).attestationElements];
    const decoders: Array<[string, (b: Uint8Array) => unknown]> = [
        ["parseDer", b => parseDer(b)], ["parseCertificate", parseCertificate], ["parseCertificationDeclaration", parseCertificationDeclaration],
        ["decodeCertificationElements", decodeCertificationElements], ["decodeTlv", b => decodeTlv(b)], ["deconstructAttestationElements", deconstructAttestationElements],
        ["loadPrivateKey", loadPrivateKey],
    ];
    const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.tuple(fc.constantFrom(...samples), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.integer({ min: -20, max: 20 })).map(([s, flips, cut]) => {
            let m = Uint8Array.from(s);
            for (const [i, v] of flips) m[i % m.length] = v;
            if (cut < 0) m = m.subarray(0, Math.max(0, m.length + cut));
            else if (cut > 0) m = Uint8Array.from([...m, ...new Uint8Array(cut).fill(0x30)]);
            return m;
        }),
    );
    for (const [name, f] of decoders) {
        it(`${name}: DiagnosticError or a result`, () => {
            fc.assert(fc.property(bytes, b => {
                try {
                    f(b);
                } catch (e) {
                    if (!(e instanceof DiagnosticError)) throw e;
                }
            }), { numRuns: 250 });
        });
    }
    it("verifyAttestation returns a result for random/mutated certificates and elements", () => {
        fc.assert(fc.property(bytes, bytes, (a, b) => {
            const v = verifyAttestation({ ...input(dac), dac: a.length ? a : dac.der, attestationElements: b.length ? b : Uint8Array.of(0x15, 0x18) }, pki.trustStore(), { allowTestKeys: true });
            expect(v.code).to.equal(ATTESTATION_RESULTS[v.result]);
            expect(v.result).to.not.equal("InternalError");
        }), { numRuns: 150 });
    });
});

describe("pki: SeededRng", () => {
    it("gives the same stream for the same seed", () => {
        expect(Buffer.from(new SeededRng("a").bytes(40)).equals(Buffer.from(new SeededRng("a").bytes(40)))).to.equal(true);
        expect(Buffer.from(new SeededRng("a").bytes(40)).equals(Buffer.from(new SeededRng("b").bytes(40)))).to.equal(false);
    });
});
