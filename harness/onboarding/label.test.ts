import { expect } from "chai";
import fc from "fast-check";
import { PNG } from "pngjs";
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { generateOnboardingCodes, isValidPasscode } from "./index.js";
import { decodeQrPng, qrMatrix, renderQrPng, renderQrSvg } from "./label.js";

function expectDiag(fn: () => unknown): void {
    try {
        fn();
    } catch (e) {
        expect(e, String(e)).to.be.instanceOf(DiagnosticError);
        return;
    }
    expect.fail("expected a DiagnosticError");
}

describe("onboarding: QR labels", () => {
    const qr = "MT:Y.K9042C00KA0648G00";

    it("PNG render → decode gives the same payload string", () => {
        const png = renderQrPng(qr);
        expect(Buffer.from(png.subarray(0, 8)).toString("hex")).to.equal("89504e470d0a1a0a");
        expect(decodeQrPng(png)).to.equal(qr);
    });

    it("is deterministic and honours scale and margin", () => {
        expect(renderQrPng(qr)).to.deep.equal(renderQrPng(qr));
        const { size } = qrMatrix(qr);
        const img = PNG.sync.read(Buffer.from(renderQrPng(qr, { scale: 3, margin: 2 })));
        expect(img.width).to.equal((size + 4) * 3);
        expect(decodeQrPng(renderQrPng(qr, { scale: 3, margin: 2, errorCorrectionLevel: "H" }))).to.equal(qr);
        expectDiag(() => renderQrPng(qr, { scale: 0 }));
    });

    it("arbitrary generated payloads survive render → decode", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 0xfff4 }),
                fc.integer({ min: 1, max: 0xffff }),
                fc.integer({ min: 0, max: 0xfff }),
                fc.integer({ min: 1, max: 99999998 }).filter(isValidPasscode),
                (vendorId, productId, discriminator, passcode) => {
                    const { qrCode } = generateOnboardingCodes({ vendorId, productId, discriminator, passcode });
                    expect(decodeQrPng(renderQrPng(qrCode, { scale: 4 }))).to.equal(qrCode);
                },
            ),
            { numRuns: 10 },
        );
    });

    it("SVG has one dark rect per run, the caption, and the payload as title", () => {
        const svg = renderQrSvg(qr, { caption: ["3497-011-2332"] });
        expect(svg).to.match(/^<\?xml/);
        expect(svg).to.contain(`<title>${qr}</title>`);
        expect(svg).to.contain(">3497-011-2332</text>");
        const { size, modules } = qrMatrix(qr);
        let runs = 0;
        for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) if (modules[r * size + c] && (c === 0 || !modules[r * size + c - 1])) runs++;
        expect(svg.match(/<rect x=/g)!.length).to.equal(runs);
        expect(renderQrSvg("a<b", { caption: ["&"] })).to.contain("a&lt;b").and.contain("&amp;");
    });

    it("a non-PNG, a PNG without a QR code and random bytes are DiagnosticErrors", () => {
        expectDiag(() => decodeQrPng(Uint8Array.of(1, 2, 3)));
        // plain words, not pngjs's "read requests waitng on finished stream"
        expect(() => decodeQrPng(new TextEncoder().encode("garbage"))).to.throw(/^not a PNG image \(no PNG signature in its first 8 of 7 bytes\)$/);
        const label = renderQrPng(qr, { scale: 2 });
        expect(() => decodeQrPng(label.slice(0, 100))).to.throw(/^not a readable PNG image: truncated \(100 bytes\)$/);
        const blank = new PNG({ width: 64, height: 64 });
        blank.data.fill(0xff);
        expectDiag(() => decodeQrPng(new Uint8Array(PNG.sync.write(blank))));
        const png = renderQrPng(qr, { scale: 2 });
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(png.length - 1), (junk, cut) => {
                for (const bytes of [junk, png.slice(0, cut)]) {
                    try {
                        decodeQrPng(bytes);
                    } catch (e) {
                        if (!(e instanceof DiagnosticError)) throw e;
                    }
                }
            }),
            { numRuns: 50 },
        );
    });
});
