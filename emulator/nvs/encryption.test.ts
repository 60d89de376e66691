import { expect } from "chai";
import fc from "fast-check";
import { EspError } from "../esp_common/err.js";
import { encryptImageInPlace } from "./encryption.js";
import { ENTRIES_PER_PAGE, ENTRY_SIZE, PAGE_SIZE, encryptEntry, encryptImage, decryptImage, generateImage, type NvsItem } from "./index.js";

const FIRST_ENTRY = 64;

describe("nvs encryptImage (batched XTS)", () => {
    const arbItems = fc.array(
        fc.oneof(
            fc.record({ key: fc.stringMatching(/^[a-z]{1,15}$/), v: fc.bigInt({ min: 0n, max: 0xffffffffn }) }).map(
                ({ key, v }): NvsItem => ({ kind: "int", key, type: "u32", value: v }),
            ),
            fc.record({ key: fc.stringMatching(/^[a-z]{1,15}$/), b: fc.uint8Array({ maxLength: 700 }) }).map(
                ({ key, b }): NvsItem => ({ kind: "blob", key, bytes: b }),
            ),
        ),
        { maxLength: 12 },
    );
    const arbKeys = fc
        .tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }))
        .filter(([a, b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0)
        .map(([eky, tky]) => ({ eky, tky }));

    it("equals encrypting each written entry on its own with OpenSSL's aes-256-xts, and decrypts back", () => {
        fc.assert(
            fc.property(arbItems, arbKeys, (items, keys) => {
                const plain = generateImage([{ kind: "namespace", name: "ns" }, ...items], { size: 0x5000 }).image;
                const fast = encryptImage(plain, keys);
                const reference = plain.slice();
                for (let p = 0; p + PAGE_SIZE <= plain.length; p += PAGE_SIZE) {
                    for (let i = 0; i < ENTRIES_PER_PAGE; i++) {
                        const state = (plain[p + 32 + (i >> 2)]! >> ((i & 3) * 2)) & 3;
                        if (state === 3) continue;
                        const off = p + FIRST_ENTRY + i * ENTRY_SIZE;
                        reference.set(encryptEntry(keys, off, plain.subarray(off, off + ENTRY_SIZE)), off);
                    }
                }
                expect(Buffer.from(fast).equals(Buffer.from(reference))).to.equal(true);
                expect(Buffer.from(decryptImage(fast, keys)).equals(Buffer.from(plain))).to.equal(true);
                // in place, also on a view that is not 4-byte aligned (worked on in an aligned copy)
                const holder = new Uint8Array(plain.length + 1).fill(0xa5);
                holder.set(plain, 1);
                expect(encryptImageInPlace(holder.subarray(1), keys).byteOffset).to.equal(1);
                expect(Buffer.from(holder.subarray(1)).equals(Buffer.from(reference))).to.equal(true);
                expect(holder[0]).to.equal(0xa5);
                expect(Buffer.from(generateImage([{ kind: "namespace", name: "ns" }, ...items], { size: 0x5000, keys }).image).equals(Buffer.from(reference))).to.equal(true);
            }),
            { numRuns: 40 },
        );
    });

    it("an image of more written entries than the reused work arrays hold (> 4096) encrypts the same, twice in a row", () => {
        const items: NvsItem[] = [{ kind: "namespace", name: "ns" }];
        for (let i = 0; i < 45; i++) items.push({ kind: "blob", key: `b${i}`, bytes: new Uint8Array(3900).map((_, j) => (i * 31 + j) & 0xff) });
        const plain = generateImage(items, { size: 0x40000 }).image;
        const keys = { eky: new Uint8Array(32).fill(1), tky: new Uint8Array(32).fill(2) };
        const fast = encryptImage(plain, keys);
        let entries = 0;
        for (let p = 0; p + PAGE_SIZE <= plain.length; p += PAGE_SIZE) {
            for (let i = 0; i < ENTRIES_PER_PAGE; i++) {
                if (((plain[p + 32 + (i >> 2)]! >> ((i & 3) * 2)) & 3) === 3) continue;
                entries++;
                const off = p + FIRST_ENTRY + i * ENTRY_SIZE;
                expect(Buffer.from(fast.subarray(off, off + ENTRY_SIZE)).equals(Buffer.from(encryptEntry(keys, off, plain.subarray(off, off + ENTRY_SIZE)))), `entry at ${off}`).to.equal(true);
            }
        }
        expect(entries).to.be.greaterThan(4096);
        // and a small image right after still encrypts as before (the kept arrays were not disturbed)
        const small = generateImage([{ kind: "namespace", name: "ns" }, { kind: "int", key: "k", type: "u32", value: 7n }], { size: 0x3000 }).image;
        expect(Buffer.from(decryptImage(encryptImage(small, keys), keys)).equals(Buffer.from(small))).to.equal(true);
        expect(Buffer.from(encryptImage(plain, keys)).equals(Buffer.from(fast))).to.equal(true);
    });

    it("refuses equal key halves like OpenSSL's XTS", () => {
        const plain = generateImage([{ kind: "namespace", name: "ns" }], { size: 0x3000 }).image;
        const k = new Uint8Array(32).fill(7);
        expect(() => encryptImage(plain, { eky: k, tky: k })).to.throw(EspError).with.property("code", "ESP_ERR_NVS_XTS_ENCR_FAILED");
    });
});
