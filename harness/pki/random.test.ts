import { expect } from "chai";
import { osRandomBytes } from "./random.js";

describe("pki/random: pooled OS CSPRNG bytes", () => {
    it("hands out the requested lengths, never the same bytes twice, across pool refills and for large requests", () => {
        const seen = new Set<string>();
        for (let i = 0; i < 2000; i++) {
            const n = 16 + (i % 5); // 16..20 bytes: 2000 draws refill the 8 KiB pool several times
            const b = osRandomBytes(n);
            expect(b.length).to.equal(n);
            const h = Buffer.from(b).toString("hex");
            expect(seen.has(h), "repeated draw").to.equal(false);
            seen.add(h);
        }
        expect(osRandomBytes(5000).length).to.equal(5000);
        expect(osRandomBytes(0).length).to.equal(0);
    });

    it("returns copies: changing one draw does not change the next", () => {
        const a = osRandomBytes(32);
        a.fill(0);
        expect(osRandomBytes(32).every(x => x === 0)).to.equal(false);
    });
});
