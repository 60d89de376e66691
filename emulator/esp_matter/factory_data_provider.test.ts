import { expect } from "chai";
import fc from "fast-check";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { encodeSecureCert, matterSecureCertEntries } from "../esp_secure_cert/index.js";
import { encodeNvsKeys, generateImage, mountNvs, randomNvsKeys, type NvsItem } from "../nvs/index.js";
import { describeWithVectors, readVector } from "../testing/vectors.js";
import { findForbiddenKeys, loadFactoryData, rawP256Key, readFactoryData } from "./factory_data_provider.js";

const enc = new TextEncoder();
const str = (key: string, s: string): NvsItem => ({ kind: "string", key, bytes: enc.encode(s + "\0") });
const u32 = (key: string, v: number): NvsItem => ({ kind: "int", key, type: "u32", value: BigInt(v) });
const blob = (key: string, bytes: Uint8Array): NvsItem => ({ kind: "blob", key, bytes });

interface Fixture {
    salt: Uint8Array;
    verifier: Uint8Array;
    dacCert: Uint8Array;
    dacKey: Uint8Array;
    paiCert: Uint8Array;
    cd: Uint8Array;
}

function fixture(): Fixture {
    return {
        salt: new Uint8Array(randomBytes(32)),
        verifier: new Uint8Array([...randomBytes(32), 0x04, ...randomBytes(64)]),
        dacCert: new Uint8Array(randomBytes(480)),
        dacKey: new Uint8Array(randomBytes(32)),
        paiCert: new Uint8Array(randomBytes(470)),
        cd: new Uint8Array(randomBytes(236)),
    };
}

function chipFactoryItems(f: Fixture, omit: string[] = [], extra: NvsItem[] = []): NvsItem[] {
    const items: NvsItem[] = [
        { kind: "namespace", name: "chip-factory" },
        u32("discriminator", 3840),
        u32("iteration-count", 10000),
        str("salt", Buffer.from(f.salt).toString("base64")),
        u32("vendor-id", 0xfff2),
        str("vendor-name", "Test Vendor"),
        u32("product-id", 0x8001),
        str("mfg-date", "2024-06-01"),
        str("serial-num", "SN0001"),
        blob("dac-cert", f.dacCert),
        blob("dac-key", f.dacKey),
        blob("pai-cert", f.paiCert),
        str("verifier", Buffer.from(f.verifier).toString("base64")),
        blob("cert-dclrn", f.cd),
        ...extra,
    ];
    return items.filter(i => i.kind === "namespace" || !omit.includes(i.key));
}

describe("esp_matter factory data provider", () => {
    it("reads every chip-factory key from a plain partition", () => {
        const f = fixture();
        const { image } = generateImage(chipFactoryItems(f), { size: 0x6000 });
        const data = loadFactoryData({ nvs: image });
        expect(data.discriminator).to.equal(3840);
        expect(data.iterationCount).to.equal(10000);
        expect(data.salt).to.deep.equal(f.salt);
        expect(data.verifier).to.deep.equal(f.verifier);
        expect(data.dacCert).to.deep.equal(f.dacCert);
        expect(data.dacKey).to.deep.equal(f.dacKey);
        expect(data.paiCert).to.deep.equal(f.paiCert);
        expect(data.certDeclaration).to.deep.equal(f.cd);
        expect([data.vendorId, data.productId]).to.deep.equal([0xfff2, 0x8001]);
        expect(data.vendorName).to.equal("Test Vendor");
        expect(data.manufacturingDate).to.equal("20240601"); // '-' stripped like the ESP32 provider
        expect(data.productName).to.equal(undefined);
    });

    it("reads an NVS-encrypted partition with its nvs_keys partition", () => {
        const f = fixture();
        const keys = randomNvsKeys();
        const { image } = generateImage(chipFactoryItems(f), { size: 0x6000, keys });
        const data = loadFactoryData({ nvs: image, nvsKeysPartition: encodeNvsKeys(keys) });
        expect(data.dacKey).to.deep.equal(f.dacKey);
    });

    it("device with NVS encryption, plaintext image flashed: every read is ESP_ERR_NVS_NOT_FOUND (esp-matter#808)", () => {
        const { image } = generateImage(chipFactoryItems(fixture()), { size: 0x6000 });
        const r = readFactoryData({ nvs: image, nvsKeysPartition: encodeNvsKeys(randomNvsKeys()) });
        expect(r.error).to.be.instanceOf(EspError);
        expect(r.error!.code).to.equal("ESP_ERR_NVS_NOT_FOUND");
        expect(r.reads.every(x => !x.ok && x.error === "ESP_ERR_NVS_NOT_FOUND")).to.equal(true);
    });

    it("regenerated or unencrypted-garbled nvs_keys: ESP_ERR_NVS_CORRUPT_KEY_PART / KEYS_NOT_INITIALIZED", () => {
        const { image } = generateImage(chipFactoryItems(fixture()), { size: 0x6000 });
        const corrupt = encodeNvsKeys(randomNvsKeys());
        corrupt[5]! ^= 0x40;
        expect(readFactoryData({ nvs: image, nvsKeysPartition: corrupt }).error!.code).to.equal("ESP_ERR_NVS_CORRUPT_KEY_PART");
        const erased = new Uint8Array(4096).fill(0xff);
        expect(readFactoryData({ nvs: image, nvsKeysPartition: erased }).error!.code).to.equal("ESP_ERR_NVS_KEYS_NOT_INITIALIZED");
    });

    it("a missing mandatory key stops the boot naming the key and the partition (esp-matter#1054)", () => {
        const { image } = generateImage(chipFactoryItems(fixture(), ["discriminator"]), { size: 0x6000 });
        expect(() => loadFactoryData({ nvs: image }))
            .to.throw(EspError)
            .that.satisfies((e: EspError) => e.code === "ESP_ERR_NVS_NOT_FOUND" && /reading discriminator from fctry/.test(e.message));
    });

    it("a key with the wrong NVS type is ESP_ERR_NVS_TYPE_MISMATCH, not NOT_FOUND", () => {
        const items = chipFactoryItems(fixture(), ["discriminator"]);
        items.splice(1, 0, str("discriminator", "3840"));
        const { image } = generateImage(items, { size: 0x6000 });
        const r = readFactoryData({ nvs: image });
        expect(r.error!.code).to.equal("ESP_ERR_NVS_TYPE_MISMATCH");
        expect(r.reads.find(x => x.key === "discriminator")!.error).to.equal("ESP_ERR_NVS_TYPE_MISMATCH");
    });

    it("no factory partition: ESP_ERR_NVS_PART_NOT_FOUND (esp-matter#443)", () => {
        expect(readFactoryData({}).error!.code).to.equal("ESP_ERR_NVS_PART_NOT_FOUND");
    });

    it("DAC in esp_secure_cert but firmware reads NVS: dac-cert not found (esp-matter#574); with the secure-cert provider it works", () => {
        const f = fixture();
        const { image } = generateImage(chipFactoryItems(f, ["dac-cert", "dac-key", "pai-cert"]), { size: 0x6000 });
        // SEC1 ECPrivateKey DER for the key (what mfg_tool puts into esp_secure_cert)
        const sec1 = new Uint8Array([0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20, ...f.dacKey, 0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
        const secureCert = encodeSecureCert(matterSecureCertEntries({ dacCert: f.dacCert, dacKey: sec1, paiCert: f.paiCert }));
        const viaNvs = readFactoryData({ nvs: image, secureCert });
        expect(viaNvs.error!.message).to.match(/reading dac-cert from fctry/);
        const data = loadFactoryData({ nvs: image, secureCert, dacProvider: "secure-cert" });
        expect(data.dacCert).to.deep.equal(f.dacCert);
        expect(data.dacKey).to.deep.equal(f.dacKey);
    });

    it("flags a stored passcode as a forbidden key (esp-matter#147: it must never be on the device)", () => {
        const { image } = generateImage(chipFactoryItems(fixture(), [], [u32("passcode", 20202021)]), { size: 0x6000 });
        expect(findForbiddenKeys(mountNvs(image))).to.deep.equal(["passcode"]);
    });

    it("rawP256Key extracts the scalar from SEC1 and PKCS#8 DER", () => {
        const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
        const pkcs8 = new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" }));
        const sec1 = new Uint8Array(privateKey.export({ format: "der", type: "sec1" }));
        const jwkD = Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url");
        expect(rawP256Key(pkcs8)).to.deep.equal(new Uint8Array(jwkD));
        expect(rawP256Key(sec1)).to.deep.equal(new Uint8Array(jwkD));
        expect(() => rawP256Key(new Uint8Array(5))).to.throw(DiagnosticError);
    });

    it("never crashes on a mutated factory partition: values or ESP-IDF errors", () => {
        const { image } = generateImage(chipFactoryItems(fixture()), { size: 0x6000 });
        fc.assert(
            fc.property(fc.array(fc.nat(image.length * 8 - 1), { minLength: 1, maxLength: 8 }), bits => {
                const m = image.slice();
                for (const b of bits) m[b >> 3]! ^= 1 << (b & 7);
                const r = readFactoryData({ nvs: m });
                if (r.error) expect(r.error).to.be.instanceOf(DiagnosticError);
            }),
            { numRuns: 150 },
        );
    });
});

describeWithVectors("esp_matter factory data provider on the golden chip-factory image", "nvs/11_matter_chip_factory", () => {
    it("reads the reference image (plain and encrypted) to the CSV's values", () => {
        const plain = loadFactoryData({ nvs: readVector("nvs/11_matter_chip_factory/nvs.bin") });
        const encrypted = loadFactoryData({
            nvs: readVector("nvs/11_matter_chip_factory/nvs_encr.bin"),
            nvsKeysPartition: readVector("nvs/11_matter_chip_factory/nvs_keys.bin"),
        });
        expect(encrypted).to.deep.equal(plain);
        expect([plain.vendorId, plain.productId, plain.discriminator, plain.iterationCount]).to.deep.equal([0xfff2, 0x8001, 3840, 10000]);
        expect(plain.dacCert).to.deep.equal(new Uint8Array(readVector("nvs/11_matter_chip_factory/files/DAC_cert.der")));
        expect(plain.rotatingDeviceIdUniqueId).to.deep.equal(new Uint8Array(Buffer.from("00112233445566778899aabbccddeeff", "hex")));
        expect([plain.productFinish, plain.productColor, plain.partNumber, plain.productUrl]).to.deep.equal([2, 11, "PN-42", "https://example.com/p"]);
    });
});

