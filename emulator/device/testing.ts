/**
 * Test support (not used by production code): a throwaway attestation PKI made with matter.js's own certificate
 * classes and fresh keys (never matter.js's built-in test PAA/DAC), a SPAKE2+ verifier computed from a passcode,
 * and complete factory data.
 */
import { pbkdf2Sync } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { Crypto, Environment, type PrivateKey } from "@matter/main";
import { CertificationDeclaration, Dac, Paa, Pai } from "@matter/main/protocol";
import type { DeviceFactoryData } from "./factory-data.js";

const MATTER_EPOCH_OFFSET_S = 946684800;
const YEAR_S = 365 * 24 * 60 * 60;
const matterNow = (addYears = 0) => Math.floor(Date.now() / 1000) - MATTER_EPOCH_OFFSET_S + addYears * YEAR_S;

function crypto(): Crypto {
    return Environment.default.get(Crypto);
}

async function skidOf(publicKey: Uint8Array) {
    return new Uint8Array(await crypto().computeHash(publicKey, "SHA-1"));
}

export interface TestPki {
    paaKey: PrivateKey;
    paaCert: Uint8Array;
    paaSkid: Uint8Array;
    paiKey: PrivateKey;
    paiCert: Uint8Array;
    paiSkid: Uint8Array;
    cdSignerKey: PrivateKey;
    cdSignerSkid: Uint8Array;
    vendorId: number;
    productId: number;
}

let serial = 100;
const serialBytes = () => Uint8Array.of(0x01, (serial >> 8) & 0xff, serial++ & 0xff);

/** A fresh PAA (VID-scoped) → PAI (VID+PID) chain and a CD signing key. */
export async function createTestPki(vendorId = 0xfff1, productId = 0x8000): Promise<TestPki> {
    const c = crypto();
    const paaKey = await c.createKeyPair();
    const paaSkid = await skidOf(paaKey.publicKey);
    const paa = new Paa({
        serialNumber: serialBytes(),
        signatureAlgorithm: 1,
        publicKeyAlgorithm: 1,
        ellipticCurveIdentifier: 1,
        issuer: { commonName: "mfgsim throwaway PAA", vendorId: vendorId as never },
        notBefore: matterNow(-1),
        notAfter: matterNow(10),
        subject: { commonName: "mfgsim throwaway PAA", vendorId: vendorId as never },
        ellipticCurvePublicKey: paaKey.publicKey,
        extensions: {
            basicConstraints: { isCa: true, pathLen: 1 },
            keyUsage: { keyCertSign: true, cRLSign: true },
            subjectKeyIdentifier: paaSkid,
            authorityKeyIdentifier: paaSkid,
        },
    } as never);
    await paa.sign(c, paaKey);

    const paiKey = await c.createKeyPair();
    const paiSkid = await skidOf(paiKey.publicKey);
    const pai = new Pai({
        serialNumber: serialBytes(),
        signatureAlgorithm: 1,
        publicKeyAlgorithm: 1,
        ellipticCurveIdentifier: 1,
        issuer: { commonName: "mfgsim throwaway PAA", vendorId: vendorId as never },
        notBefore: matterNow(-1),
        notAfter: matterNow(10),
        subject: { commonName: "mfgsim throwaway PAI", vendorId: vendorId as never, productId },
        ellipticCurvePublicKey: paiKey.publicKey,
        extensions: {
            basicConstraints: { isCa: true, pathLen: 0 },
            keyUsage: { keyCertSign: true, cRLSign: true },
            subjectKeyIdentifier: paiSkid,
            authorityKeyIdentifier: paaSkid,
        },
    } as never);
    await pai.sign(c, paaKey);

    const cdSignerKey = await c.createKeyPair();
    const cdSignerSkid = await skidOf(cdSignerKey.publicKey);
    return {
        paaKey, paaCert: new Uint8Array(paa.asSignedDer()), paaSkid,
        paiKey, paiCert: new Uint8Array(pai.asSignedDer()), paiSkid,
        cdSignerKey, cdSignerSkid, vendorId, productId,
    };
}

/** A DAC under `pki`'s PAI; VID/PID overridable to build inconsistent devices. */
export async function createTestDac(pki: TestPki, opts: { vendorId?: number; productId?: number } = {}) {
    const c = crypto();
    const key = await c.createKeyPair();
    const vendorId = opts.vendorId ?? pki.vendorId;
    const productId = opts.productId ?? pki.productId;
    const dac = new Dac({
        serialNumber: serialBytes(),
        signatureAlgorithm: 1,
        publicKeyAlgorithm: 1,
        ellipticCurveIdentifier: 1,
        notBefore: matterNow(-1),
        notAfter: matterNow(10),
        issuer: { commonName: "mfgsim throwaway PAI", vendorId: pki.vendorId as never, productId: pki.productId },
        subject: { commonName: "mfgsim throwaway DAC", vendorId: vendorId as never, productId },
        ellipticCurvePublicKey: key.publicKey,
        extensions: {
            basicConstraints: { isCa: false },
            keyUsage: { digitalSignature: true },
            subjectKeyIdentifier: await skidOf(key.publicKey),
            authorityKeyIdentifier: pki.paiSkid,
        },
    } as never);
    await dac.sign(c, pki.paiKey);
    return { dacCert: new Uint8Array(dac.asSignedDer()), dacKey: new Uint8Array(key.privateKey as Uint8Array) };
}

/** A CD signed by the PKI's CD signer (certification_type 0 = test by default). */
export async function createTestCd(pki: TestPki, opts: { vendorId?: number; productIds?: number[]; deviceTypeId?: number; certificationType?: number } = {}) {
    const cd = new CertificationDeclaration(
        {
            formatVersion: 1,
            vendorId: (opts.vendorId ?? pki.vendorId) as never,
            produceIdArray: opts.productIds ?? [pki.productId],
            deviceTypeId: opts.deviceTypeId ?? 0x0100,
            certificateId: "ZIG20142ZB330003-24",
            securityLevel: 0,
            securityInformation: 0,
            versionNumber: 1,
            certificationType: opts.certificationType ?? 0,
        } as never,
        pki.cdSignerSkid,
    );
    return new Uint8Array(await cd.asSignedAsn1(crypto(), pki.cdSignerKey));
}

const P256_N = p256.Point.CURVE().n;

function bytesToBigInt(b: Uint8Array) {
    return BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);
}

/**
 * SPAKE2+ verifier (Matter §3.10): ws = PBKDF2-HMAC-SHA256(passcode as LE u32, salt, iterations, 80);
 * w0 = ws[0:40] mod n, w1 = ws[40:80] mod n, L = w1·G; verifier = w0 (32 B BE) ‖ L (65 B uncompressed).
 */
export function computeVerifier(passcode: number, salt: Uint8Array, iterations: number): Uint8Array {
    const pin = Buffer.alloc(4);
    pin.writeUInt32LE(passcode);
    const ws = pbkdf2Sync(pin, salt, iterations, 80, "sha256");
    const w0 = bytesToBigInt(ws.subarray(0, 40)) % P256_N;
    const w1 = bytesToBigInt(ws.subarray(40, 80)) % P256_N;
    const L = p256.Point.BASE.multiply(w1).toBytes(false);
    const out = new Uint8Array(97);
    out.set(Buffer.from(w0.toString(16).padStart(64, "0"), "hex"), 0);
    out.set(L, 32);
    return out;
}

export interface TestDevice {
    factoryData: DeviceFactoryData;
    passcode: number;
}

/** Factory data of one device under `pki` (passcode known to the test only). */
export async function createTestFactoryData(pki: TestPki, opts: { passcode?: number; discriminator?: number; serialNumber?: string } = {}): Promise<TestDevice> {
    const passcode = opts.passcode ?? 20202021;
    const salt = new Uint8Array(await crypto().randomBytes(32));
    const iterationCount = 1000;
    const { dacCert, dacKey } = await createTestDac(pki);
    return {
        passcode,
        factoryData: {
            discriminator: opts.discriminator ?? 0xf00,
            iterationCount,
            salt,
            verifier: computeVerifier(passcode, salt, iterationCount),
            dacCert,
            dacKey,
            paiCert: pki.paiCert,
            certDeclaration: await createTestCd(pki),
            vendorId: pki.vendorId,
            productId: pki.productId,
            vendorName: "Espressif Test",
            productName: "Virtual Light",
            hardwareVersion: 3,
            hardwareVersionString: "v3.0-proto",
            manufacturingDate: "20240115",
            serialNumber: opts.serialNumber ?? "SN-000001",
            partNumber: "PN-42",
            productLabel: "Virtual light bulb",
            productUrl: "https://example.com/light",
            uniqueId: "unique-0001",
            rotatingDeviceIdUniqueId: new Uint8Array(16).fill(0x5a),
            productFinish: 2,
            productColor: 4,
        },
    };
}
