import { expect } from "chai";
import fc from "fast-check";
import { DiagnosticError, EspError } from "../esp_common/err.js";
import {
    decodeSecureCert,
    encodeSecureCert,
    encodeSecureCertEntry,
    getDacCert,
    getDacKey,
    getMatterData,
    getPaiCert,
    matterSecureCertEntries,
    MatterSubtype,
    scanSecureCert,
    SECURE_CERT_PARTITION_SIZE,
    SecureCertType,
} from "./index.js";

function expectThrowsCode(fn: () => unknown, code: string): DiagnosticError {
    try {
        fn();
    } catch (e) {
        expect(e).to.be.instanceOf(DiagnosticError);
        expect((e as DiagnosticError).code).to.equal(code);
        return e as DiagnosticError;
    }
    expect.fail(`expected ${code}`);
}

describe("esp_secure_cert TLV partition", () => {
    // esp_secure_cert_mgr tools/tests/input_data/esp_secure_cert_parsed_data_expected/tlv_entries_raw.txt:
    // type, value, CRC and total size printed by the reference parser for entries of its test partition.
    const reference: Array<[number, Uint8Array, number, number]> = [
        [52, Buffer.from("deadbeefcafebabe1234567890abcdef", "hex"), 0x2af3c61c, 32],
        [51, Buffer.from("Device Model: ESP32-S3-DevKit-C"), 0x2e60f6d8, 48],
        [8, Buffer.from("0be6bd6613bebb26f7939b2b5a7fcd550bab9ebf5a4e77a2912b67bf1346aa99", "hex"), 0x7ec0a93b, 48],
    ];

    it("entry layout and CRC match esp_secure_cert_mgr's parser output", () => {
        for (const [type, value, crc, size] of reference) {
            const e = encodeSecureCertEntry({ type, value });
            expect(e.length).to.equal(size);
            expect(Buffer.from(e.subarray(0, 4)).toString("hex")).to.equal("11ba5eba");
            expect(e[8]).to.equal(type);
            expect(e[10]! | (e[11]! << 8)).to.equal(value.length);
            expect(new DataView(e.buffer).getUint32(e.length - 4, true)).to.equal(crc);
            // zero padding between the value and the CRC
            expect([...e.subarray(12 + value.length, e.length - 4)].every(b => b === 0)).to.equal(true);
        }
    });

    const dac = new Uint8Array(400).map((_, i) => (i * 7) & 0xff);
    const pai = new Uint8Array(420).map((_, i) => (i * 13) & 0xff);
    const key = new Uint8Array(121).map((_, i) => (i * 3 + 1) & 0xff);
    const verifier = new Uint8Array(97).fill(0x5a);
    const salt = new Uint8Array(32).fill(0x11);
    const uid = new Uint8Array(16).fill(0x22);

    it("builds a Matter partition and reads it back like the device", () => {
        const part = encodeSecureCert(
            matterSecureCertEntries({ dacCert: dac, dacKey: key, paiCert: pai, discriminator: 0xf00, verifier, salt, iterationCount: 10000, rdIdUid: uid }),
        );
        expect(part.length).to.equal(SECURE_CERT_PARTITION_SIZE);
        const entries = decodeSecureCert(part);
        expect(entries.map(e => [e.type, e.subtype])).to.deep.equal([[1, 0], [0, 0], [2, 0], [201, 0], [201, 1], [201, 2], [201, 3], [201, 4]]);
        // every entry starts 16-aligned, the first one at 0, and the rest of the partition is erased
        expect(entries.every(e => e.offset % 16 === 0)).to.equal(true);
        const last = entries[entries.length - 1]!;
        const end = last.offset + 12 + 16 + 4;
        expect([...part.subarray(end)].every(b => b === 0xff)).to.equal(true);
        expect(scanSecureCert(part).endReason).to.equal("erased");

        expect(getDacCert(part)).to.deep.equal(dac);
        expect(getPaiCert(part)).to.deep.equal(pai);
        expect(getDacKey(part)).to.deep.equal({ kind: "plaintext", flags: 0, der: key });
        expect(getMatterData(part, MatterSubtype.DISCRIMINATOR)).to.equal(0xf00);
        expect(getMatterData(part, MatterSubtype.SPAKE2P_ITERATION_COUNT)).to.equal(10000);
        expect(getMatterData(part, MatterSubtype.SPAKE2P_VERIFIER)).to.deep.equal(verifier);
        expect(getMatterData(part, MatterSubtype.SPAKE2P_SALT)).to.deep.equal(salt);
        expect(getMatterData(part, MatterSubtype.RD_ID_UID)).to.deep.equal(uid);
        // discriminator bytes are little-endian on flash (esp-matter: discriminator.to_bytes(2, "little"))
        const d = entries.find(e => e.type === 201 && e.subtype === 0)!;
        expect([...d.value]).to.deep.equal([0x00, 0x0f]);
    });

    it("ECDSA-peripheral key flag (bit 3) and HMAC flags", () => {
        const part = encodeSecureCert(matterSecureCertEntries({ dacCert: dac, dacKey: new Uint8Array(0), paiCert: pai, keyKind: "ecdsa-peripheral" }));
        const k = getDacKey(part);
        expect(k.kind).to.equal("ecdsa-peripheral");
        expect(k.flags).to.equal(0x08);
        expect(k.der.length).to.equal(0);
        const h = encodeSecureCert([{ type: SecureCertType.PRIV_KEY, flags: 0x80, value: key }]);
        expect(getDacKey(h).kind).to.equal("hmac-encrypted");
        const g = encodeSecureCert([{ type: SecureCertType.PRIV_KEY, flags: 0x40, value: key }]);
        expect(getDacKey(g).kind).to.equal("hmac-derived");
    });

    it("absent entries are ESP_ERR_NOT_FOUND; a bad CRC is ESP_ERR_INVALID_CRC; garbage is a bad magic", () => {
        const part = encodeSecureCert(matterSecureCertEntries({ dacCert: dac, dacKey: key, paiCert: pai }));
        const e = expectThrowsCode(() => getMatterData(part, MatterSubtype.DISCRIMINATOR), "ESP_ERR_NOT_FOUND");
        expect(e).to.be.instanceOf(EspError);
        expectThrowsCode(() => getDacCert(new Uint8Array(0x2000).fill(0xff)), "ESP_ERR_NOT_FOUND");
        const bad = part.slice();
        bad[12 + 5]! ^= 0x01; // inside the DAC value
        expectThrowsCode(() => getDacCert(bad), "ESP_ERR_INVALID_CRC");
        expectThrowsCode(() => decodeSecureCert(bad), "ESP_ERR_INVALID_CRC");
        // the device only checks the CRC of the entry it returns: the PAI is still readable
        expect(getPaiCert(bad)).to.deep.equal(pai);
        const garbage = new Uint8Array(0x2000).fill(0x5a);
        expectThrowsCode(() => getDacCert(garbage), "ESP_SECURE_CERT_BAD_MAGIC");
        expectThrowsCode(() => decodeSecureCert(garbage), "ESP_SECURE_CERT_BAD_MAGIC");
    });

    it("refuses what does not fit, duplicates and out-of-range fields", () => {
        expectThrowsCode(() => encodeSecureCert([{ type: 1, value: new Uint8Array(0x2000) }]), "ESP_ERR_INVALID_SIZE");
        expectThrowsCode(() => encodeSecureCert([{ type: 1, value: dac }, { type: 1, value: dac }]), "ESP_ERR_INVALID_ARG");
        expectThrowsCode(() => encodeSecureCertEntry({ type: 256, value: dac }), "ESP_ERR_INVALID_ARG");
        expectThrowsCode(() => matterSecureCertEntries({ dacCert: dac, dacKey: key, paiCert: pai, verifier: new Uint8Array(96) }), "ESP_ERR_INVALID_SIZE");
        expectThrowsCode(() => matterSecureCertEntries({ dacCert: dac, dacKey: key, paiCert: pai, discriminator: 0x1000 }), "ESP_ERR_INVALID_ARG");
    });

    it("the newer tool's end marker (u32 0x0000FFFF) ends the walk; a short image without erased tail works", () => {
        const one = encodeSecureCertEntry({ type: 1, value: dac });
        const img = new Uint8Array(one.length + 4);
        img.set(one);
        img.set([0xff, 0xff, 0x00, 0x00], one.length);
        expect(scanSecureCert(img).endReason).to.equal("end-marker");
        expect(getDacCert(img)).to.deep.equal(dac);
        expect(scanSecureCert(one).endReason).to.equal("eof");
        expectThrowsCode(() => decodeSecureCert(one.subarray(0, one.length - 1)), "ESP_ERR_INVALID_SIZE");
    });

    const entryArb = fc.record({
        type: fc.integer({ min: 0, max: 255 }),
        subtype: fc.integer({ min: 0, max: 255 }),
        flags: fc.integer({ min: 0, max: 255 }),
        value: fc.uint8Array({ maxLength: 300 }),
    });

    it("property: arbitrary entries round-trip", () => {
        fc.assert(
            fc.property(fc.uniqueArray(entryArb, { maxLength: 12, selector: e => (e.type << 8) | e.subtype }), entries => {
                const part = encodeSecureCert(entries, 0x2000 * 2);
                const back = decodeSecureCert(part);
                expect(back.map(e => ({ type: e.type, subtype: e.subtype, flags: e.flags, value: e.value }))).to.deep.equal(entries);
                for (const e of entries) {
                    if (e.type === SecureCertType.DEV_CERT && e.subtype === 0) expect(getDacCert(part)).to.deep.equal(e.value);
                }
            }),
            { numRuns: 150 },
        );
    });

    it("property: random and mutated partitions give entries or a DiagnosticError, never a crash", () => {
        const base = encodeSecureCert(matterSecureCertEntries({ dacCert: dac, dacKey: key, paiCert: pai, discriminator: 1, verifier, salt, iterationCount: 1000, rdIdUid: uid }));
        const mutated = fc
            .tuple(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }), fc.nat(base.length))
            .map(([flips, cut]) => {
                const b = base.slice(0, cut);
                for (const [i, x] of flips) if (i < b.length) b[i]! ^= x;
                return b;
            });
        const input = fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated);
        fc.assert(
            fc.property(input, bytes => {
                const scan = scanSecureCert(bytes);
                expect(scan.end).to.be.at.most(bytes.length);
                for (const get of [
                    () => decodeSecureCert(bytes),
                    () => getDacCert(bytes),
                    () => getDacKey(bytes),
                    () => getPaiCert(bytes),
                    () => getMatterData(bytes, MatterSubtype.DISCRIMINATOR),
                    () => getMatterData(bytes, MatterSubtype.SPAKE2P_VERIFIER),
                ]) {
                    try {
                        get();
                    } catch (e) {
                        expect(e).to.be.instanceOf(DiagnosticError);
                    }
                }
            }),
            { numRuns: 300 },
        );
    });
});
