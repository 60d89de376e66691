import { expect } from "chai";
import fc from "fast-check";
import { DiagnosticError } from "../esp_common/err.js";
import { NorFlash, PowerLossError } from "./index.js";

const small = (seed = 1, overwrite: "and" | "error" = "and") => new NorFlash({ size: 0x4000, anySize: true, seed, overwrite });

describe("spi_flash NOR model", () => {
    it("erased is 0xFF, writes AND into the cell, erase restores 0xFF per 4 KiB sector", () => {
        const f = small();
        expect([...f.read(0, 4)]).to.deep.equal([0xff, 0xff, 0xff, 0xff]);
        f.write(0, Uint8Array.of(0xf0, 0x0f));
        f.write(0, Uint8Array.of(0x3c, 0xff));
        expect([...f.read(0, 2)]).to.deep.equal([0x30, 0x0f]);
        f.erase(0, 0x1000);
        expect([...f.read(0, 2)]).to.deep.equal([0xff, 0xff]);
        expect(f.log.map(o => o.kind)).to.deep.equal(["write", "write", "erase"]);
        expect(() => f.erase(0x10, 0x1000)).to.throw(DiagnosticError).with.property("code", "ESP_ERR_INVALID_ARG");
        expect(() => f.read(0x3fff, 2)).to.throw(DiagnosticError).with.property("code", "ESP_ERR_INVALID_SIZE");
        expect(() => new NorFlash({ size: 1 << 20 })).to.throw(DiagnosticError);
    });
    it("'error' mode refuses to set bits without an erase", () => {
        const f = small(1, "error");
        f.write(0, Uint8Array.of(0x0f));
        expect(() => f.write(0, Uint8Array.of(0x1f))).to.throw(DiagnosticError).with.property("code", "ESP_ERR_FLASH_OP_FAIL");
        f.write(0, Uint8Array.of(0x07));
        expect(f.read(0, 1)[0]).to.equal(0x07);
    });
    it("property: a write only ever clears bits (new = old AND data)", () => {
        fc.assert(
            fc.property(fc.array(fc.record({ off: fc.nat({ max: 0x3f00 }), data: fc.uint8Array({ minLength: 1, maxLength: 64 }) }), { maxLength: 20 }), ops => {
                const f = small();
                const model = new Uint8Array(0x4000).fill(0xff);
                for (const { off, data } of ops) {
                    const before = f.read(off, data.length);
                    f.write(off, data);
                    const after = f.read(off, data.length);
                    for (let i = 0; i < data.length; i++) {
                        expect(after[i]! & ~before[i]!).to.equal(0);
                        model[off + i]! &= data[i]!;
                    }
                }
                expect(Buffer.from(f.snapshot()).equals(Buffer.from(model))).to.equal(true);
            }),
            { numRuns: 100 },
        );
    });
    it("property: power loss during op N tears exactly that op, deterministically from the seed", () => {
        const script = (f: NorFlash) => {
            f.write(0x100, new Uint8Array(64).fill(0x00));
            f.erase(0x0, 0x2000);
            f.write(0x1000, new Uint8Array(256).fill(0x5a));
            f.write(0x2000, new Uint8Array(32).fill(0x00));
        };
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 4 }), fc.integer(), (n, seed) => {
                const run = () => {
                    const f = small(seed);
                    f.schedulePowerLoss(n);
                    let err: unknown;
                    try {
                        script(f);
                    } catch (e) {
                        err = e;
                    }
                    return { f, err };
                };
                const a = run();
                const b = run();
                expect(a.err).to.be.instanceOf(PowerLossError);
                expect((a.err as PowerLossError).op.index).to.equal(n);
                expect(a.f.log.length).to.equal(n);
                expect(a.f.log[n - 1]!.torn).to.equal(true);
                expect(Buffer.from(a.f.snapshot()).equals(Buffer.from(b.f.snapshot()))).to.equal(true);
                expect(() => a.f.write(0, Uint8Array.of(0))).to.throw(DiagnosticError);
                a.f.powerOn();
                a.f.write(0x3000, Uint8Array.of(0));
                // the torn op left its region between "before" and "after" states
                const op = a.f.log[n - 1]!;
                const full = small(seed);
                const ops = [(f: NorFlash) => f.write(0x100, new Uint8Array(64).fill(0)), (f: NorFlash) => f.erase(0, 0x2000), (f: NorFlash) => f.write(0x1000, new Uint8Array(256).fill(0x5a)), (f: NorFlash) => f.write(0x2000, new Uint8Array(32).fill(0))];
                for (let i = 0; i < n - 1; i++) ops[i]!(full);
                const before = full.read(op.offset, op.length);
                ops[n - 1]!(full);
                const after = full.read(op.offset, op.length);
                const torn = a.f.read(op.offset, op.length);
                for (let i = 0; i < op.length; i++) {
                    if (op.kind === "write") expect(torn[i]! & ~before[i]!).to.equal(0), expect(after[i]! & ~torn[i]!).to.equal(0);
                    else expect(before[i]! & ~torn[i]!).to.equal(0);
                }
            }),
            { numRuns: 60 },
        );
    });
    it("bit flips and region views", () => {
        const f = small();
        f.flipBits([{ offset: 5, bit: 0 }]);
        expect(f.read(5, 1)[0]).to.equal(0xfe);
        const r = f.region(0x1000, 0x2000);
        r.write(0x10, Uint8Array.of(0x12));
        expect(f.read(0x1010, 1)[0]).to.equal(0x12);
        r.erase(0, 0x1000);
        expect(f.read(0x1010, 1)[0]).to.equal(0xff);
        expect(() => r.read(0x1fff, 2)).to.throw(DiagnosticError).with.property("code", "ESP_ERR_INVALID_SIZE");
    });
});
