import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { describeWithVectors } from "../../emulator/testing/vectors.js";
import {
    base38Decode,
    base38Encode,
    decodeManualCode,
    decodeOnboardingTlv,
    decodeQrCode,
    encodeManualCode,
    encodeOnboardingTlv,
    encodeQrCode,
    formatManualCode,
    generateOnboardingCodes,
    isValidPasscode,
    parseOnboardingCode,
    TRIVIAL_PASSCODES,
    verhoeffCheckDigit,
    verhoeffValid,
} from "./index.js";

interface Vector {
    version: number;
    vendor_id: number;
    product_id: number;
    commissioning_flow: number;
    discovery_capabilities: number;
    discriminator: number;
    short_discriminator: number;
    passcode: number;
    qr_code: string;
    manual_code: string;
    manual_code_length: number;
}

/** Asserts fn throws a DiagnosticError (optionally with `code`) and nothing else. */
function expectDiag(fn: () => unknown, code?: string): DiagnosticError {
    try {
        fn();
    } catch (e) {
        expect(e, String(e)).to.be.instanceOf(DiagnosticError);
        if (code) expect((e as DiagnosticError).code).to.equal(code);
        return e as DiagnosticError;
    }
    expect.fail("expected a DiagnosticError");
}

/** Accepts either a DiagnosticError or a normal return: never another exception type. */
function diagOrOk(fn: () => unknown): void {
    try {
        fn();
    } catch (e) {
        if (!(e instanceof DiagnosticError)) throw e;
    }
}

describeWithVectors("onboarding: connectedhomeip SetupPayload.py vectors", "onboarding", dir => {
    const vectors = (JSON.parse(readFileSync(join(dir, "vectors.json"), "utf8")) as { vectors: Vector[] }).vectors;

    it("has vectors", () => expect(vectors.length).to.be.greaterThan(0));

    for (const v of vectors) {
        it(`generate ${v.qr_code} / ${v.manual_code}`, () => {
            const codes = generateOnboardingCodes({
                vendorId: v.vendor_id,
                productId: v.product_id,
                passcode: v.passcode,
                discriminator: v.discriminator,
                commissioningFlow: v.commissioning_flow,
                discoveryCapabilities: v.discovery_capabilities,
            });
            expect(codes.qrCode).to.equal(v.qr_code);
            expect(codes.manualCode).to.equal(v.manual_code);
            expect(codes.manualCode).to.have.length(v.manual_code_length);
        });

        it(`parse ${v.qr_code}`, () => {
            const [p, ...rest] = decodeQrCode(v.qr_code);
            expect(rest).to.deep.equal([]);
            expect(p).to.deep.equal({
                version: v.version,
                vendorId: v.vendor_id,
                productId: v.product_id,
                commissioningFlow: v.commissioning_flow,
                discoveryCapabilities: v.discovery_capabilities,
                discriminator: v.discriminator,
                passcode: v.passcode,
            });
            expect(parseOnboardingCode(v.qr_code).payloads[0]!.shortDiscriminator).to.equal(v.short_discriminator);
        });

        it(`parse ${v.manual_code} (plain and as printed with dashes)`, () => {
            for (const text of [v.manual_code, formatManualCode(v.manual_code), ` ${v.manual_code.slice(0, 4)} ${v.manual_code.slice(4)} `]) {
                const [p] = parseOnboardingCode(text).payloads;
                expect(p!.passcode).to.equal(v.passcode);
                expect(p!.shortDiscriminator).to.equal(v.short_discriminator);
                expect(p!.version).to.equal(null);
                expect(p!.discoveryCapabilities).to.equal(null);
                expect(p!.discriminator).to.equal(null);
                if (v.manual_code_length === 21) {
                    expect(p!.vendorId).to.equal(v.vendor_id);
                    expect(p!.productId).to.equal(v.product_id);
                    expect(v.commissioning_flow).to.not.equal(0);
                } else {
                    expect(p!.vendorId).to.equal(null);
                    expect(p!.productId).to.equal(null);
                    expect(p!.commissioningFlow).to.equal(0);
                }
            }
        });

        it(`matter.js encodes ${v.qr_code} the same (independent implementation)`, async () => {
            const { QrPairingCodeCodec, ManualPairingCodeCodec } = await import("@matter/types");
            const qr = QrPairingCodeCodec.encode([
                {
                    version: 0,
                    vendorId: v.vendor_id,
                    productId: v.product_id,
                    flowType: v.commissioning_flow,
                    discoveryCapabilities: v.discovery_capabilities,
                    discriminator: v.discriminator,
                    passcode: v.passcode,
                } as never,
            ]);
            expect(qr).to.equal(v.qr_code);
            const long = v.commissioning_flow !== 0;
            const manual = ManualPairingCodeCodec.encode({
                discriminator: v.discriminator,
                passcode: v.passcode,
                ...(long ? { vendorId: v.vendor_id as never, productId: v.product_id } : {}),
            });
            expect(manual).to.equal(v.manual_code);
        });

        it(`every single-character change of ${v.qr_code} is rejected or decodes to other fields, never crashes`, () => {
            const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-.a*: ";
            for (let i = 0; i < v.qr_code.length; i++) {
                for (const ch of alphabet) {
                    const mutated = v.qr_code.slice(0, i) + ch + v.qr_code.slice(i + 1);
                    if (mutated === v.qr_code) continue;
                    diagOrOk(() => decodeQrCode(mutated));
                }
            }
        });
    }
});

describe("onboarding: base38", () => {
    it("chunks 3 bytes → 5 chars, 2 → 4, 1 → 2 (little-endian values)", () => {
        expect(base38Encode(Uint8Array.of(0))).to.equal("00");
        expect(base38Encode(Uint8Array.of(37))).to.equal(".0");
        expect(base38Encode(Uint8Array.of(38))).to.equal("01");
        expect(base38Encode(Uint8Array.of(0x01, 0x00))).to.equal("1000");
        expect(base38Encode(Uint8Array.of(0, 1))).to.equal(base38Encode(Uint8Array.of(0, 1)));
        // 0xFFFFFF = 16777215 = digits base 38 (LSB first): 16777215 % 38 …
        let n = 0xffffff;
        let expected = "";
        for (let i = 0; i < 5; i++) {
            expected += "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-."[n % 38];
            n = Math.floor(n / 38);
        }
        expect(base38Encode(Uint8Array.of(0xff, 0xff, 0xff))).to.equal(expected);
        expect(base38Encode(new Uint8Array(11))).to.have.length(19);
    });

    it("round-trips arbitrary bytes", () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 64 }), bytes => {
                expect(base38Decode(base38Encode(bytes))).to.deep.equal(bytes);
            }),
            { numRuns: 300 },
        );
    });

    it("rejects bad characters, lengths 1/3 mod 5 and oversized chunks", () => {
        expectDiag(() => base38Decode("0a"), "CHIP_ERROR_INVALID_INTEGER_VALUE");
        expectDiag(() => base38Decode("0/"), "CHIP_ERROR_INVALID_INTEGER_VALUE");
        expectDiag(() => base38Decode("0é"), "CHIP_ERROR_INVALID_INTEGER_VALUE");
        expectDiag(() => base38Decode("0"), "CHIP_ERROR_INVALID_STRING_LENGTH");
        expectDiag(() => base38Decode("000"), "CHIP_ERROR_INVALID_STRING_LENGTH");
        expectDiag(() => base38Decode("000000"), "CHIP_ERROR_INVALID_STRING_LENGTH");
        expectDiag(() => base38Decode("..."[0]! + "."), "CHIP_ERROR_INVALID_ARGUMENT"); // 37 + 37·38 = 1443 > 255
        expectDiag(() => base38Decode("...."), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => base38Decode("....."), "CHIP_ERROR_INVALID_ARGUMENT");
    });

    it("random text decodes or fails with a DiagnosticError", () => {
        fc.assert(fc.property(fc.string({ maxLength: 40 }), s => diagOrOk(() => base38Decode(s))), { numRuns: 500 });
    });
});

describe("onboarding: Verhoeff", () => {
    it("matches the published example (236 → 3) and validates it", () => {
        expect(verhoeffCheckDigit("236")).to.equal(3);
        expect(verhoeffValid("2363")).to.equal(true);
        expect(verhoeffValid("2364")).to.equal(false);
    });

    it("catches every single-digit substitution and every adjacent transposition of random codes", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^[0-9]{10}$|^[0-9]{20}$/), body => {
                const code = body + String(verhoeffCheckDigit(body));
                expect(verhoeffValid(code)).to.equal(true);
                for (let i = 0; i < code.length; i++) {
                    for (let d = 0; d <= 9; d++) {
                        if (String(d) === code[i]) continue;
                        expect(verhoeffValid(code.slice(0, i) + d + code.slice(i + 1)), `${code} digit ${i} → ${d}`).to.equal(false);
                    }
                    if (i + 1 < code.length && code[i] !== code[i + 1]) {
                        const swapped = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2);
                        expect(verhoeffValid(swapped), `${code} swap ${i}`).to.equal(false);
                    }
                }
            }),
            { numRuns: 60 },
        );
    });
});

describe("onboarding: validity rules", () => {
    const base = { vendorId: 0xfff1, productId: 0x8000, passcode: 20202021, discriminator: 3840 };

    it("refuses the 12 trivial passcodes, 0 and > 99999998; accepts the bounds", () => {
        expect(TRIVIAL_PASSCODES).to.have.length(12);
        for (const p of [...TRIVIAL_PASSCODES, 0, 99999999, 100000000, 2 ** 27 - 1, -1, 1.5]) {
            expect(isValidPasscode(p), String(p)).to.equal(false);
            expectDiag(() => generateOnboardingCodes({ ...base, passcode: p }));
        }
        expect(isValidPasscode(1)).to.equal(true);
        expect(isValidPasscode(99999998)).to.equal(true);
        const e = expectDiag(() => generateOnboardingCodes({ ...base, passcode: 12345678 }), "CHIP_ERROR_INVALID_ARGUMENT");
        expect(e.message).to.contain("trivial");
        expectDiag(() => generateOnboardingCodes({ ...base, passcode: 87654321 }), "CHIP_ERROR_INVALID_ARGUMENT");
    });

    it("VID 0 or ≤ 0xFFF4, PID 0 only with VID 0, flow ≤ 2, discriminator ≤ 0xFFF, known capability bits", () => {
        expect(() => generateOnboardingCodes({ ...base, vendorId: 0xfff4 })).to.not.throw();
        expect(() => generateOnboardingCodes({ ...base, vendorId: 0, productId: 0 })).to.not.throw();
        expect(() => generateOnboardingCodes({ ...base, vendorId: 0, productId: 5 })).to.not.throw();
        expectDiag(() => generateOnboardingCodes({ ...base, vendorId: 0xfff5 }), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => generateOnboardingCodes({ ...base, vendorId: 0x10000 }), "CHIP_ERROR_INVALID_INTEGER_VALUE");
        expectDiag(() => generateOnboardingCodes({ ...base, productId: 0 }), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => generateOnboardingCodes({ ...base, commissioningFlow: 3 }), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => generateOnboardingCodes({ ...base, discriminator: 0x1000 }), "CHIP_ERROR_INVALID_INTEGER_VALUE");
        expectDiag(() => generateOnboardingCodes({ ...base, discoveryCapabilities: 0x20 }), "CHIP_ERROR_INVALID_ARGUMENT");
        expect(() => generateOnboardingCodes({ ...base, discoveryCapabilities: 0x1f })).to.not.throw();
    });

    it("the default discovery capabilities are OnNetwork (4), as SetupPayload.py generate", () => {
        const [p] = decodeQrCode(generateOnboardingCodes(base).qrCode);
        expect(p!.discoveryCapabilities).to.equal(4);
    });
});

/** Builds a QR string with arbitrary 88-bit field values, bypassing the encoder's checks. */
function rawQr(f: { version?: number; vid: number; pid: number; flow: number; caps: number; disc: number; pass: number; pad?: number }, tlv?: Uint8Array): string {
    let v = 0n;
    let shift = 0n;
    for (const [value, width] of [
        [f.version ?? 0, 3],
        [f.vid, 16],
        [f.pid, 16],
        [f.flow, 2],
        [f.caps, 8],
        [f.disc, 12],
        [f.pass, 27],
        [f.pad ?? 0, 4],
    ] as const) {
        v |= BigInt(value) << shift;
        shift += BigInt(width);
    }
    const bytes = new Uint8Array(11 + (tlv?.length ?? 0));
    for (let i = 0; i < 11; i++) bytes[i] = Number((v >> BigInt(8 * i)) & 0xffn);
    if (tlv) bytes.set(tlv, 11);
    return "MT:" + base38Encode(bytes);
}

describe("onboarding: QR decoding rules", () => {
    const ok = { vid: 0xfff1, pid: 0x8000, flow: 0, caps: 2, disc: 3840, pass: 20202021 };

    it("an independent bit packer gives the same string as the encoder", () => {
        expect(rawQr(ok)).to.equal("MT:Y.K9042C00KA0648G00");
    });

    it("rejects wrong version, reserved flow, padding, invalid passcode, VID/PID rules", () => {
        expectDiag(() => decodeQrCode(rawQr({ ...ok, version: 1 })), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeQrCode(rawQr({ ...ok, flow: 3 })), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeQrCode(rawQr({ ...ok, pad: 1 })), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeQrCode(rawQr({ ...ok, pass: 12345678 })), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeQrCode(rawQr({ ...ok, pass: 0 })), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeQrCode(rawQr({ ...ok, pass: 99999999 })), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeQrCode(rawQr({ ...ok, vid: 0xfffe })), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeQrCode(rawQr({ ...ok, pid: 0 })), "CHIP_ERROR_INVALID_ARGUMENT");
        // a consumer accepts capability bits it does not know (connectedhomeip kConsume)
        expect(decodeQrCode(rawQr({ ...ok, caps: 0xe2 }))[0]!.discoveryCapabilities).to.equal(0xe2);
    });

    it("rejects a missing prefix, lower case, short payloads and empty segments", () => {
        expectDiag(() => decodeQrCode("Y.K9042C00KA0648G00"), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeQrCode("mt:Y.K9042C00KA0648G00"), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeQrCode("MT:y.K9042C00KA0648G00"), "CHIP_ERROR_INVALID_INTEGER_VALUE");
        expectDiag(() => decodeQrCode("MT:Y.K9042C00KA0648G0"), "CHIP_ERROR_INVALID_STRING_LENGTH");
        expectDiag(() => decodeQrCode("MT:Y.K9042C00KA0648G"), "CHIP_ERROR_INVALID_ARGUMENT"); // 10 bytes
        expectDiag(() => decodeQrCode("MT:Y.K9042C00KA06"), "CHIP_ERROR_INVALID_ARGUMENT"); // 10 bytes
        expectDiag(() => decodeQrCode("MT:"), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeQrCode("MT:Y.K9042C00KA0648G00*"), "CHIP_ERROR_INVALID_ARGUMENT");
    });

    it("decodes concatenated payloads", () => {
        const a = { vendorId: 0xfff1, productId: 0x8000, commissioningFlow: 0, discoveryCapabilities: 2, discriminator: 3840, passcode: 20202021 };
        const b = { ...a, productId: 0x8001, discriminator: 1, passcode: 34567890 };
        const text = encodeQrCode([a, b]);
        expect(text.split("*")).to.have.length(2);
        const [pa, pb] = decodeQrCode(text);
        expect(pa).to.deep.include(a);
        expect(pb).to.deep.include(b);
        expect(parseOnboardingCode(text).payloads).to.have.length(2);
    });

    it("arbitrary valid fields → QR → the same fields; → manual code → same passcode, short discriminator, VID/PID", () => {
        const fields = fc
            .record({
                vendorId: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xfff4 })),
                productId: fc.integer({ min: 0, max: 0xffff }),
                commissioningFlow: fc.integer({ min: 0, max: 2 }),
                discoveryCapabilities: fc.integer({ min: 0, max: 0x1f }),
                discriminator: fc.integer({ min: 0, max: 0xfff }),
                passcode: fc.integer({ min: 1, max: 99999998 }).filter(isValidPasscode),
            })
            .filter(f => f.productId !== 0 || f.vendorId === 0);
        fc.assert(
            fc.property(fields, f => {
                const codes = generateOnboardingCodes(f);
                expect(decodeQrCode(codes.qrCode)).to.deep.equal([{ version: 0, ...f }]);
                const m = decodeManualCode(codes.manualCode);
                expect(m.passcode).to.equal(f.passcode);
                expect(m.shortDiscriminator).to.equal(f.discriminator >> 8);
                expect(codes.manualCode).to.have.length(f.commissioningFlow === 0 ? 11 : 21);
                expect(m.vendorId).to.equal(f.commissioningFlow === 0 ? null : f.vendorId);
                expect(m.productId).to.equal(f.commissioningFlow === 0 ? null : f.productId);
            }),
            { numRuns: 300 },
        );
    });

    it("random strings and mutated/truncated/extended codes → DiagnosticError or a valid parse, never a crash", () => {
        const seed = generateOnboardingCodes({ vendorId: 0xfff1, productId: 0x8000, passcode: 20202021, discriminator: 3840 });
        fc.assert(
            fc.property(
                fc.oneof(
                    fc.string({ maxLength: 40 }),
                    fc.string({ unit: fc.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-.*"), maxLength: 60 }).map(s => "MT:" + s),
                    fc.stringMatching(/^[0-9 -]{0,25}$/),
                    fc.tuple(fc.constantFrom(seed.qrCode, seed.manualCode), fc.nat(30), fc.nat(30), fc.string({ maxLength: 6 })).map(
                        ([s, a, b, ins]) => s.slice(0, Math.min(a, b)) + ins + s.slice(Math.max(a, b)),
                    ),
                ),
                s => diagOrOk(() => parseOnboardingCode(s)),
            ),
            { numRuns: 1500 },
        );
    });
});

describe("onboarding: manual code rules", () => {
    it("rejects non-digits, wrong lengths, version digits 8/9, bad check digit, length/flag mismatch", () => {
        expectDiag(() => decodeManualCode("3497011233x"), "CHIP_ERROR_INVALID_INTEGER_VALUE");
        expectDiag(() => decodeManualCode("3497.011.2332"), "CHIP_ERROR_INVALID_INTEGER_VALUE");
        expectDiag(() => decodeManualCode("349701123"), "CHIP_ERROR_INVALID_STRING_LENGTH");
        expectDiag(() => decodeManualCode("349701123321"), "CHIP_ERROR_INVALID_STRING_LENGTH");
        expectDiag(() => decodeManualCode("34970112333"), "CHIP_ERROR_INTEGRITY_CHECK_FAILED");
        const eight = "8497011233";
        expectDiag(() => decodeManualCode(eight + verhoeffCheckDigit(eight)), "CHIP_ERROR_INVALID_ARGUMENT");
        // first digit without the VID/PID bit but 21 digits
        const body = "34970112330006500001";
        expectDiag(() => decodeManualCode(body + verhoeffCheckDigit(body)), "CHIP_ERROR_INVALID_STRING_LENGTH");
        // VID > 65535 in a long code
        const big = "74549207539999900001";
        expectDiag(() => decodeManualCode(big + verhoeffCheckDigit(big)), "CHIP_ERROR_INVALID_INTEGER_VALUE");
        // passcode 0 and a trivial passcode
        const zero = "0000000000";
        expectDiag(() => decodeManualCode(zero + verhoeffCheckDigit(zero)), "CHIP_ERROR_INVALID_ARGUMENT");
        const trivial = encodeManualCodeUnchecked(12345678, 15);
        expectDiag(() => decodeManualCode(trivial), "CHIP_ERROR_INVALID_ARGUMENT");
    });

    it("takes a short discriminator directly", () => {
        expect(encodeManualCode({ passcode: 20202021, shortDiscriminator: 15 })).to.equal("34970112332");
        expectDiag(() => encodeManualCode({ passcode: 20202021, shortDiscriminator: 16 }), "CHIP_ERROR_INVALID_INTEGER_VALUE");
        expectDiag(() => encodeManualCode({ passcode: 20202021 }), "CHIP_ERROR_INVALID_ARGUMENT");
    });
});

/** An 11-digit code built by hand (no passcode check), for decoder tests. */
function encodeManualCodeUnchecked(passcode: number, shortDisc: number): string {
    const body =
        String(shortDisc >> 2) + String(((shortDisc & 3) << 14) | (passcode & 0x3fff)).padStart(5, "0") + String(passcode >>> 14).padStart(4, "0");
    return body + verhoeffCheckDigit(body);
}

describe("onboarding: QR TLV section", () => {
    const fields = { vendorId: 0xfff1, productId: 0x8000, commissioningFlow: 0, discoveryCapabilities: 2, discriminator: 3840, passcode: 20202021 };
    const salt = Uint8Array.from(Buffer.from("SPAKE2P Key Salt"));

    it("round-trips serial number, PBKDF parameters, number of devices, timeout and vendor tags", () => {
        const tlvData = encodeOnboardingTlv({
            serialNumber: "SN-0001",
            pbkdfIterations: 15000,
            pbkdfSalt: salt,
            numberOfDevices: 3,
            commissioningTimeout: 900,
            vendor: [{ tag: 0x80, value: "vendor" }, { tag: 0x81, value: 42 }],
        });
        const [p] = decodeQrCode(encodeQrCode({ ...fields, tlvData }));
        expect(p!.tlvData).to.deep.equal(tlvData);
        const ext = p!.extension!;
        expect(ext.serialNumber).to.equal("SN-0001");
        expect(ext.serialNumberType).to.equal("utf8");
        expect(ext.pbkdfIterations).to.equal(15000);
        expect(ext.pbkdfSalt).to.deep.equal(salt);
        expect(ext.numberOfDevices).to.equal(3);
        expect(ext.commissioningTimeout).to.equal(900);
        expect(ext.vendorElements.map(e => (e.tag.kind === "context" ? e.tag.id : -1))).to.deep.equal([0x80, 0x81]);
    });

    it("agrees with matter.js's onboarding TLV codec both ways", async () => {
        const { QrPairingCodeCodec } = await import("@matter/types");
        const ours = encodeOnboardingTlv({ serialNumber: "ABC123", pbkdfIterations: 1000, pbkdfSalt: salt, numberOfDevices: 2 });
        const decoded = QrPairingCodeCodec.decodeTlvData(ours) as Record<string, unknown>;
        expect(decoded.serialNumber).to.equal("ABC123");
        expect(decoded.pbkdfIterations).to.equal(1000);
        expect(new Uint8Array(decoded.pbkdfSalt as Uint8Array)).to.deep.equal(salt);
        expect(decoded.numberOfDevices).to.equal(2);
        const theirs = new Uint8Array(QrPairingCodeCodec.encodeTlvData({ serialNumber: "XYZ", pbkdfIterations: 99999, pbkdfSalt: salt, commissioningTimeout: 300 }));
        const ext = decodeOnboardingTlv(theirs);
        expect(ext.serialNumber).to.equal("XYZ");
        expect(ext.pbkdfIterations).to.equal(99999);
        expect(ext.pbkdfSalt).to.deep.equal(salt);
        expect(ext.commissioningTimeout).to.equal(300);
    });

    it("rejects malformed sections: not a structure, truncation, trailing bytes, bad ranges, salt without iterations", () => {
        expectDiag(() => decodeOnboardingTlv(Uint8Array.of(0x04, 0x01)), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => decodeOnboardingTlv(Uint8Array.of(0x15, 0x24, 0x03)), "CHIP_ERROR_TLV_UNDERRUN");
        expectDiag(() => decodeOnboardingTlv(Uint8Array.of(0x15, 0x18, 0x00)), "CHIP_ERROR_INVALID_TLV_ELEMENT");
        expectDiag(() => decodeOnboardingTlv(Uint8Array.of(0x15, 0x1f, 0x18)), "CHIP_ERROR_INVALID_TLV_ELEMENT");
        expectDiag(() => decodeOnboardingTlv(Uint8Array.of(0x15, 0x24, 0x03, 0x00, 0x18)), "CHIP_ERROR_INVALID_ARGUMENT"); // 0 devices
        expectDiag(() => decodeOnboardingTlv(Uint8Array.of(0x15, 0x24, 0x03, 0x01, 0x24, 0x03, 0x02, 0x18)), "CHIP_ERROR_INVALID_ARGUMENT"); // duplicate
        expectDiag(() => decodeOnboardingTlv(Uint8Array.of(0x15, 0x25, 0x01, 0xe8, 0x03, 0x18)), "CHIP_ERROR_INVALID_ARGUMENT"); // iterations alone
        expectDiag(() => decodeOnboardingTlv(Uint8Array.of(0x15, 0x2c, 0x00, 0x02, 0xc3, 0x28, 0x18)), "CHIP_ERROR_INVALID_TLV_ELEMENT"); // bad UTF-8
        expectDiag(() => decodeOnboardingTlv(Uint8Array.of(0x15, 0x04, 0x01, 0x18)), "CHIP_ERROR_INVALID_ARGUMENT"); // anonymous member
        expectDiag(() => encodeOnboardingTlv({ pbkdfSalt: salt }), "CHIP_ERROR_INVALID_ARGUMENT");
        expectDiag(() => encodeOnboardingTlv({ vendor: [{ tag: 5, value: 1 }] }), "CHIP_ERROR_INVALID_TLV_TAG");
        // encoder refuses a QR whose TLV a reader would reject
        expectDiag(() => encodeQrCode({ ...fields, tlvData: Uint8Array.of(0x15) }), "CHIP_ERROR_TLV_UNDERRUN");
    });

    it("random TLV bytes → DiagnosticError or a decoded section, never a crash", () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 40 }), bytes => {
                diagOrOk(() => decodeOnboardingTlv(bytes));
                diagOrOk(() => decodeOnboardingTlv(Uint8Array.of(0x15, ...bytes)));
            }),
            { numRuns: 1000 },
        );
    });
});
