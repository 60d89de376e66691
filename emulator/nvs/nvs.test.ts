import { expect } from "chai";
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { espCrc32 } from "../esp_rom/crc.js";
import {
    decodeNvsKeys,
    decryptImage,
    deriveNvsKeysFromHmac,
    encodeNvsKeys,
    generateFromCsv,
    generateImage,
    mountNvs,
    plaintextItemStats,
    looksNvsEncrypted,
    parseNvsCsv,
    resolveNvsRows,
    type IntTypeName,
    type NvsItem,
    type NvsKeys,
} from "./index.js";
import { BLOB_MAX_SIZE, INT_TYPES, decodeItem, decodePageHeader, encodePageHeader, ItemType, PAGE_SIZE } from "./format.js";

const KEYS: NvsKeys = { eky: new Uint8Array(32).map((_, i) => i), tky: new Uint8Array(32).map((_, i) => 0xa0 + i) };
const enc = new TextEncoder();

function str(key: string, s: string): NvsItem {
    const b = enc.encode(s);
    const bytes = new Uint8Array(b.length + 1);
    bytes.set(b);
    return { kind: "string", key, bytes };
}

function expectEsp(fn: () => unknown, code: string): void {
    try {
        fn();
    } catch (e) {
        expect(e, String(e)).to.be.instanceOf(EspError);
        expect((e as EspError).code).to.equal(code);
        return;
    }
    expect.fail(`expected ${code}`);
}

/** The entries of one page as [type, span, chunkIndex, key] from the raw image (independent of the reader). */
function rawItems(image: Uint8Array, page: number): Array<[number, number, number, string]> {
    const out: Array<[number, number, number, string]> = [];
    let i = 0;
    while (i < 126) {
        const off = page * PAGE_SIZE + 64 + i * 32;
        if (image.subarray(off, off + 32).every(b => b === 0xff)) break;
        const it = decodeItem(image.subarray(off, off + 32));
        out.push([it.type, it.span, it.chunkIndex, it.keyRaw]);
        i += Math.max(1, it.span);
    }
    return out;
}

describe("nvs CSV", () => {
    it("parses quoting, comments, header order and line numbers", () => {
        const rows = parseNvsCsv('type,key,value,encoding\n# c\nnamespace,ns,,\n\ndata,s,"a,""b""\nc",string\ndata,n,0x1F,u8\n');
        expect(rows.map(r => [r.line, r.key, r.type, r.encoding, r.value])).to.deep.equal([
            [3, "ns", "namespace", "", ""],
            [5, "s", "data", "string", 'a,"b"\nc'],
            [7, "n", "data", "u8", "0x1F"],
        ]);
        const items = resolveNvsRows(rows);
        expect(items[2]).to.deep.include({ kind: "int", value: 31n });
    });

    it("reports the line and field of bad rows", () => {
        const cases: Array<[string, string, string]> = [
            ["a_key_of_16_chars,data,u8,1", "ESP_ERR_NVS_KEY_TOO_LONG", "key"],
            ["k,data,u8,256", "ESP_ERR_INVALID_ARG", "value"],
            ["k,data,i8,-129", "ESP_ERR_INVALID_ARG", "value"],
            ["k,data,u32,12abc", "ESP_ERR_INVALID_ARG", "value"],
            ["k,data,float,1.5", "ESP_ERR_NOT_SUPPORTED", "encoding"],
            ["k,data,hex2bin,abc", "ESP_ERR_INVALID_ARG", "value"],
            ["k,blob,u8,1", "ESP_ERR_NOT_SUPPORTED", "type"],
        ];
        for (const [row, code, field] of cases) {
            try {
                resolveNvsRows(parseNvsCsv(`key,type,encoding,value\nns,namespace,,\n${row}\n`), { file: "in.csv" });
                expect.fail(row);
            } catch (e) {
                expect(e, row).to.be.instanceOf(DiagnosticError);
                const d = e as DiagnosticError;
                expect([d.code, d.context.line, d.context.field, d.context.file], row).to.deep.equal([code, 3, field, "in.csv"]);
            }
        }
    });

    it("fill encodings pad to N (blob_sz_fill prefixes the u32 length)", () => {
        const items = resolveNvsRows(parseNvsCsv("key,type,encoding,value\nns,namespace,,\nf,data,blob_fill(6;0xAA),hi\nz,data,blob_sz_fill(4;0x00),ab\n"));
        expect(Array.from((items[1] as { bytes: Uint8Array }).bytes)).to.deep.equal([0x68, 0x69, 0xaa, 0xaa, 0xaa, 0xaa]);
        expect(Array.from((items[2] as { bytes: Uint8Array }).bytes)).to.deep.equal([2, 0, 0, 0, 0x61, 0x62, 0, 0]);
        expect(() => resolveNvsRows(parseNvsCsv("key,type,encoding,value\nf,data,blob_fill(1;0xAA),hi\n"))).to.throw(DiagnosticError);
        const nvs = mountNvs(generateImage(items, { size: 0x3000 }).image);
        expect(Array.from(nvs.getBlob("ns", "z"))).to.deep.equal([2, 0, 0, 0, 0x61, 0x62, 0, 0]);
    });

    it("a fill size beyond NVS's blob limit is ESP_ERR_NVS_VALUE_TOO_LONG on the encoding, before anything is allocated", () => {
        const one = (encoding: string): NvsItem => resolveNvsRows(parseNvsCsv(`key,type,encoding,value\nns,namespace,,\nf,data,${encoding},hi\n`))[1]!;
        expect(one(`blob_fill(${BLOB_MAX_SIZE};0x00)`).kind).to.equal("blob");
        for (const encoding of [`blob_fill(${BLOB_MAX_SIZE + 1};0x00)`, `blob_sz_fill(${BLOB_MAX_SIZE - 3};0x00)`, "blob_fill(99999999999;0xff)"]) {
            expectEsp(() => one(encoding), "ESP_ERR_NVS_VALUE_TOO_LONG");
            expect(() => one(encoding)).to.throw(EspError).with.property("context").that.includes({ line: 3, field: "encoding" });
        }
    });

    it("fill encodings follow nvs_partition_gen's regex: N decimal, 0x + two hex digits, case-sensitive, trailing text ignored", () => {
        const one = (enc: string, value = "hi") => resolveNvsRows(parseNvsCsv(`key,type,encoding,value\nns,namespace,,\nf,data,"${enc}",${value}\n`))[1] as { kind: string; bytes: Uint8Array };
        expect(Array.from(one("blob_fill(3;0xFf)").bytes)).to.deep.equal([0x68, 0x69, 0xff]);
        expect(Array.from(one("blob_fill(2;0x01)junk").bytes)).to.deep.equal([0x68, 0x69]);
        expect(Array.from(one("blob_sz_fill(3;0x7e)", "").bytes)).to.deep.equal([0, 0, 0, 0, 0x7e, 0x7e, 0x7e]);
        expect(one("blob_fill(0;0x00)", "").bytes.length).to.equal(0);
        for (const bad of ["blob_fill(0x10;0x00)", "blob_fill(4;0x0)", "blob_fill(4;0x000)", "blob_fill(4; 0x00)", "blob_fill(4;255)", "blob_sz_fill(4,0x00)"]) {
            expect(() => one(bad), bad).to.throw(EspError).with.property("code", "ESP_ERR_INVALID_ARG");
        }
        // the generator lower-cases other encodings only after the fill check: BLOB_FILL(...) is an unknown encoding
        expect(() => one("BLOB_FILL(4;0x00)")).to.throw(DiagnosticError).with.property("code", "ESP_ERR_NOT_SUPPORTED");
        expect(one("blob_fill(2;0x00)").kind).to.equal("blob");
    });

    it("binary data rows are sized by UTF-8 bytes; file rows go through readFile", () => {
        const rows = parseNvsCsv("key,type,encoding,value\nns,namespace,,\nb,data,binary,Grüße\nf,file,string,x.txt\n");
        const items = resolveNvsRows(rows, { readFile: p => enc.encode(`content of ${p}`) });
        const nvs = mountNvs(generateImage(items, { size: 0x3000 }).image);
        expect(new TextDecoder().decode(nvs.getBlob("ns", "b"))).to.equal("Grüße");
        expect(nvs.getStr("ns", "f")).to.equal("content of x.txt");
    });

    it("never throws anything but DiagnosticError on arbitrary CSV text", () => {
        const alphabet = fc.constantFrom(..."key,type,encoding,value\n\"#ns data file namespace u8 i64 string hex2bin base64 binary blob_fill(3;0x1) 0x -1 99999999999999999999 ab=\r".split(""));
        fc.assert(
            fc.property(fc.array(alphabet, { maxLength: 200 }), chars => {
                const text = "key,type,encoding,value\nns,namespace,,\n" + chars.join("");
                try {
                    generateFromCsv(text, { size: 0x3000, readFile: () => new Uint8Array([0x31]) });
                } catch (e) {
                    if (!(e instanceof DiagnosticError)) throw e;
                }
            }),
            { numRuns: 300 },
        );
    });
});

describe("nvs generator rules", () => {
    it("a v2 blob longer than NVS's limit is ESP_ERR_NVS_VALUE_TOO_LONG, as nvs_set_blob says, even where the partition has room", () => {
        const blob = (n: number): NvsItem[] => [{ kind: "namespace", name: "ns" }, { kind: "blob", key: "b", bytes: new Uint8Array(n), line: 7 }];
        expect(generateImage(blob(BLOB_MAX_SIZE), { size: 0x90000 }).entries).to.equal(1);
        expect(() => generateImage(blob(BLOB_MAX_SIZE + 1), { size: 0x90000 }))
            .to.throw(EspError, /exceeds 508000/)
            .with.property("code", "ESP_ERR_NVS_VALUE_TOO_LONG");
    });

    it("a data row before any namespace is an error, and nothing is returned", () => {
        expectEsp(() => generateFromCsv("key,type,encoding,value\nk,data,u8,1\n", { size: 0x3000 }), "ESP_ERR_NVS_NOT_FOUND");
    });

    it("revisiting a namespace writes under that namespace's own index", () => {
        const r = generateFromCsv("key,type,encoding,value\na,namespace,,\nx,data,u8,1\nb,namespace,,\nx,data,u8,2\na,namespace,,\ny,data,u8,3\n", { size: 0x3000 });
        const items = rawItems(r.image, 0);
        expect(items.length).to.equal(5); // two namespace definitions, no third
        const y = decodeItem(r.image.subarray(64 + 4 * 32, 64 + 5 * 32));
        expect([y.keyRaw, y.nsIndex]).to.deep.equal(["y", 1]);
        const nvs = mountNvs(r.image);
        expect([nvs.getU8("a", "x"), nvs.getU8("b", "x"), nvs.getU8("a", "y")]).to.deep.equal([1, 2, 3]);
        expectEsp(() => nvs.getU8("b", "y"), "ESP_ERR_NVS_NOT_FOUND");
    });

    it("read-only sizes write only the used pages; read-write sizes keep the last page erased", () => {
        const csv = "key,type,encoding,value\nns,namespace,,\nk,data,u8,1\n";
        expect(generateFromCsv(csv, { size: 0x1000 }).image.length).to.equal(0x1000);
        expect(generateFromCsv(csv, { size: 0x2000 }).image.length).to.equal(0x1000);
        const rw = generateFromCsv(csv, { size: 0x3000 });
        expect([rw.image.length, rw.readOnly]).to.deep.equal([0x3000, false]);
        expect(rw.image.subarray(0x1000).every(b => b === 0xff)).to.equal(true);
        expectEsp(() => generateFromCsv(csv, { size: 0x1800 }), "ESP_ERR_INVALID_SIZE");
        const big = "key,type,encoding,value\nns,namespace,,\n" + Array.from({ length: 130 }, (_, i) => `k${i},data,u8,1\n`).join("");
        expectEsp(() => generateFromCsv(big, { size: 0x1000 }), "ESP_ERR_NVS_NOT_ENOUGH_SPACE");
        // read-only images mount read-only but not read-write (no free page)
        mountNvs(generateFromCsv(csv, { size: 0x1000 }).image, { readOnly: true });
        expectEsp(() => mountNvs(generateFromCsv(csv, { size: 0x1000 }).image, { readOnly: false }), "ESP_ERR_NVS_NO_FREE_PAGES");
        mountNvs(rw.image, { readOnly: false });
    });

    it("strings move to the next page when used + span ≥ 126", () => {
        // namespace + 121 u8 = 122 used; a 96-byte string (span 4) would end on entry 125 → moves
        const head = [{ kind: "namespace", name: "ns" } as NvsItem, ...Array.from({ length: 121 }, (_, i) => ({ kind: "int", key: `k${i}`, type: "u8", value: 1n }) as NvsItem)];
        const moved = generateImage([...head, str("s", "x".repeat(95))], { size: 0x4000 }).image;
        expect(rawItems(moved, 1)[0]).to.deep.equal([ItemType.SZ, 4, 0xff, "s"]);
        const stays = generateImage([...head, str("s", "x".repeat(63))], { size: 0x4000 }).image; // span 3 → ends on 124
        expect(rawItems(stays, 0).at(-1)).to.deep.equal([ItemType.SZ, 3, 0xff, "s"]);
    });

    it("strings of 3968..4000 bytes (with NUL) fill a fresh page; 4001 is refused", () => {
        for (const n of [3967, 3968, 3999, 4000]) {
            const r = generateImage([{ kind: "namespace", name: "ns" }, str("s", "y".repeat(n - 1)), { kind: "int", key: "after", type: "u8", value: 7n }], { size: 0x4000 });
            const nvs = mountNvs(r.image, { readOnly: false });
            expect(nvs.getStr("ns", "s").length).to.equal(n - 1);
            expect(nvs.getU8("ns", "after")).to.equal(7);
            expect(rawItems(r.image, 1)[0]).to.deep.equal([ItemType.SZ, 1 + Math.ceil(n / 32), 0xff, "s"]);
        }
        expectEsp(() => generateImage([{ kind: "namespace", name: "ns" }, str("s", "y".repeat(4000))], { size: 0x4000 }), "ESP_ERR_NVS_VALUE_TOO_LONG");
    });

    it("with one entry left a blob starts with a zero-length chunk 0; the index follows the last chunk", () => {
        const head = [{ kind: "namespace", name: "ns" } as NvsItem, ...Array.from({ length: 124 }, (_, i) => ({ kind: "int", key: `k${i}`, type: "u8", value: 1n }) as NvsItem)];
        const data = new Uint8Array(100).map((_, i) => i);
        const r = generateImage([...head, { kind: "blob", key: "b", bytes: data }], { size: 0x4000 });
        expect(rawItems(r.image, 0).at(-1)).to.deep.equal([ItemType.BLOB_DATA, 1, 0, "b"]);
        expect(rawItems(r.image, 1).slice(0, 2)).to.deep.equal([
            [ItemType.BLOB_DATA, 5, 1, "b"],
            [ItemType.BLOB_IDX, 1, 0xff, "b"],
        ]);
        expect(Array.from(mountNvs(r.image).getBlob("ns", "b"))).to.deep.equal(Array.from(data));
        // a chunk that fills the page exactly pushes the index to the next page
        const exact = generateImage([{ kind: "namespace", name: "ns" }, { kind: "blob", key: "b", bytes: new Uint8Array(124 * 32) }], { size: 0x4000 });
        expect(rawItems(exact.image, 1)[0]).to.deep.equal([ItemType.BLOB_IDX, 1, 0xff, "b"]);
    });

    it("--version 1: v1 blobs (0x41) on 0xFF pages, 1984-byte limit", () => {
        const r = generateImage([{ kind: "namespace", name: "ns" }, { kind: "blob", key: "b", bytes: new Uint8Array(1984).fill(5) }], { size: 0x3000, version: 1 });
        expect(decodePageHeader(r.image).version).to.equal(0xff);
        expect(rawItems(r.image, 0)[1]).to.deep.equal([ItemType.BLOB, 63, 0xff, "b"]);
        expect(mountNvs(r.image).getBlob("ns", "b").length).to.equal(1984);
        expectEsp(() => generateImage([{ kind: "namespace", name: "ns" }, { kind: "blob", key: "b", bytes: new Uint8Array(1985) }], { size: 0x3000, version: 1 }), "ESP_ERR_NVS_VALUE_TOO_LONG");
        expectEsp(() => generateImage([{ kind: "namespace", name: "ns" }, str("s", "z".repeat(1984))], { size: 0x3000, version: 1 }), "ESP_ERR_NVS_VALUE_TOO_LONG");
    });
});

describe("nvs encryption keys", () => {
    it("nvs_keys partition: CRC at 64, erased → KEYS_NOT_INITIALIZED, bad CRC → CORRUPT_KEY_PART", () => {
        const part = encodeNvsKeys(KEYS);
        expect(new DataView(part.buffer).getUint32(64, true)).to.equal(espCrc32(part.subarray(0, 64)));
        expect(part.subarray(68).every(b => b === 0xff)).to.equal(true);
        expect(decodeNvsKeys(part)).to.deep.equal(KEYS);
        expectEsp(() => decodeNvsKeys(new Uint8Array(4096).fill(0xff)), "ESP_ERR_NVS_KEYS_NOT_INITIALIZED");
        const bad = part.slice();
        bad[3]! ^= 1;
        expectEsp(() => decodeNvsKeys(bad), "ESP_ERR_NVS_CORRUPT_KEY_PART");
        expectEsp(() => decodeNvsKeys(part.subarray(0, 10)), "ESP_ERR_NVS_CORRUPT_KEY_PART");
    });

    it("HMAC scheme derives eky/tky from the seeds", () => {
        const hk = new Uint8Array(32).fill(0x42);
        const k = deriveNvsKeysFromHmac(hk);
        const seed = (b: number[]) => Buffer.from(Array.from({ length: 8 }, () => b).flat());
        expect(Buffer.from(k.eky).equals(createHmac("sha256", hk).update(seed([0x5a, 0x5a, 0xbe, 0xae])).digest())).to.equal(true);
        expect(Buffer.from(k.tky).equals(createHmac("sha256", hk).update(seed([0xa5, 0xa5, 0xde, 0xce])).digest())).to.equal(true);
    });
});

// ---------------------------------------------------------------------------------------------- round trips

const INT_NAMES = Object.keys(INT_TYPES) as IntTypeName[];
const keyArb = fc.stringMatching(/^[a-z0-9_.\-]{1,15}$/);
const valueArb: fc.Arbitrary<NvsItem> = fc.oneof(
    fc.constantFrom(...INT_NAMES).chain(t => fc.bigInt(INT_TYPES[t].min, INT_TYPES[t].max).map(v => ({ kind: "int", key: "", type: t, value: v }) as NvsItem)),
    fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 300 }), fc.integer({ min: 3900, max: 3999 }).map(n => "s".repeat(n))).map(s => str("", s)),
    fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 10000 }).map(n => new Uint8Array(n).map((_, i) => (i * 7) & 0xff))).map(b => ({ kind: "blob", key: "", bytes: b }) as NvsItem),
);
const itemsArb = fc.array(fc.tuple(fc.constantFrom("alpha", "beta", "gamma"), keyArb, valueArb), { minLength: 1, maxLength: 25 });

function build(rows: Array<[string, string, NvsItem]>): { items: NvsItem[]; want: Map<string, NvsItem> } {
    const items: NvsItem[] = [];
    const want = new Map<string, NvsItem>();
    let ns = "";
    for (const [n, key, v] of rows) {
        // duplicates follow the device's page rules (tested on their own below): keep keys distinct here
        if (want.has(`${n}/${key}`)) continue;
        if (n !== ns) {
            items.push({ kind: "namespace", name: n });
            ns = n;
        }
        const item = { ...v, key } as NvsItem;
        items.push(item);
        want.set(`${n}/${key}`, item);
    }
    return { items, want };
}

function check(image: Uint8Array, want: Map<string, NvsItem>, keys?: NvsKeys): void {
    const nvs = mountNvs(image, { keys });
    for (const [k, item] of want) {
        const [ns, key] = k.split("/") as [string, string];
        if (item.kind === "int") expect(nvs.getInt(ns, key, item.type), k).to.equal(item.value);
        else if (item.kind === "string") expect(Buffer.from(nvs.getStrBytes(ns, key)).equals(Buffer.from(item.bytes)), k).to.equal(true);
        else if (item.kind === "blob") expect(Buffer.from(nvs.getBlob(ns, key)).equals(Buffer.from(item.bytes)), k).to.equal(true);
    }
    expect(nvs.entries().length).to.equal(want.size);
}

describe("nvs round trip (generator → reader)", () => {
    it("arbitrary items come back, namespaces revisited", () => {
        fc.assert(
            fc.property(itemsArb, rows => {
                const { items, want } = build(rows);
                check(generateImage(items, { size: 0x40000 }).image, want);
            }),
            { numRuns: 60 },
        );
    });

    it("the same with encryption, and decryptImage gives the plaintext image", () => {
        fc.assert(
            fc.property(itemsArb, rows => {
                const { items, want } = build(rows);
                const plain = generateImage(items, { size: 0x40000 }).image;
                const encrypted = generateImage(items, { size: 0x40000, keys: KEYS }).image;
                check(encrypted, want, KEYS);
                expect(Buffer.from(decryptImage(encrypted, KEYS)).equals(Buffer.from(plain))).to.equal(true);
                // without keys: the same written entries, none of them an item (what the gate calls a missing nvs_keys)
                const r = generateImage(items, { size: 0x40000 });
                const plainStats = plaintextItemStats(plain);
                expect(plainStats.written).to.equal(r.usedEntries);
                expect(plainStats.items).to.be.greaterThan(0);
                expect(plaintextItemStats(encrypted)).to.deep.equal({ written: r.usedEntries, items: 0 });
                expect([looksNvsEncrypted(plainStats), looksNvsEncrypted(plaintextItemStats(encrypted))]).to.deep.equal([false, true]);
            }),
            { numRuns: 20 },
        );
    });

    it("plaintextItemStats: a blank partition has nothing written; a page with a bad header CRC is not read", () => {
        expect(plaintextItemStats(new Uint8Array(0x3000).fill(0xff))).to.deep.equal({ written: 0, items: 0 });
        expect(looksNvsEncrypted({ written: 0, items: 0 })).to.equal(false); // blank is not encrypted
        const image = generateFromCsv("key,type,encoding,value\nns,namespace,,\nk,data,u8,1\ns,data,string,hello\n", { size: 0x3000 }).image;
        expect(plaintextItemStats(image)).to.deep.equal({ written: 4, items: 3 });
        image[28]! ^= 1; // page 0 header CRC
        expect(plaintextItemStats(image)).to.deep.equal({ written: 0, items: 0 });
    });

    it("page boundaries: every item fits inside one page and blob chunks are ≤ 4000 bytes", () => {
        fc.assert(
            fc.property(itemsArb, rows => {
                const { items } = build(rows);
                const r = generateImage(items, { size: 0x40000 });
                for (let p = 0; p < r.pages; p++) {
                    let used = 0;
                    for (const [type, span] of rawItems(r.image, p)) {
                        used += span;
                        if (type === ItemType.SZ || type === ItemType.BLOB_DATA) expect(span).to.be.within(1, 126);
                    }
                    expect(used).to.be.at.most(126);
                    const state = new DataView(r.image.buffer, p * PAGE_SIZE).getUint32(0, true);
                    expect(state).to.equal(p === r.pages - 1 ? 0xfffffffe : 0xfffffffc);
                }
            }),
            { numRuns: 40 },
        );
    });
});

// ---------------------------------------------------------------------------------------------- device rules

describe("nvs reader: device rules", () => {
    const items: NvsItem[] = [
        { kind: "namespace", name: "ns" },
        { kind: "int", key: "n", type: "u16", value: 513n },
        str("s", "hello"),
        { kind: "blob", key: "b", bytes: new Uint8Array(5000).map((_, i) => i & 0xff) },
    ];
    const image = () => generateImage(items, { size: 0x4000 }).image;

    it("type mismatch, missing key, missing namespace", () => {
        const nvs = mountNvs(image());
        expectEsp(() => nvs.getU8("ns", "n"), "ESP_ERR_NVS_TYPE_MISMATCH");
        expectEsp(() => nvs.getBlob("ns", "s"), "ESP_ERR_NVS_TYPE_MISMATCH");
        expectEsp(() => nvs.getStr("ns", "b"), "ESP_ERR_NVS_TYPE_MISMATCH");
        expectEsp(() => nvs.getU8("ns", "none"), "ESP_ERR_NVS_NOT_FOUND");
        expectEsp(() => nvs.getU8("other", "n"), "ESP_ERR_NVS_NOT_FOUND");
        expectEsp(() => nvs.openNamespace("other", true), "ESP_ERR_NVS_NOT_FOUND");
        expect(nvs.openNamespace("ns").getU16("n")).to.equal(513);
    });

    it("a payload CRC mismatch is NOT_FOUND; a bad entry CRC hides the item", () => {
        const img = image();
        img[64 + 3 * 32 + 1]! ^= 0x01; // first payload byte of "s" (ns def, n, s header, payload)
        expectEsp(() => mountNvs(img).getStr("ns", "s"), "ESP_ERR_NVS_NOT_FOUND");
        const img2 = image();
        img2[64 + 32 + 24]! ^= 0x01; // data of "n": entry CRC fails → erased
        expectEsp(() => mountNvs(img2).getU16("ns", "n"), "ESP_ERR_NVS_NOT_FOUND");
    });

    it("a bad page header CRC marks the page CORRUPT; a newer version fails the mount", () => {
        const img = image();
        img[5]! ^= 1;
        const nvs = mountNvs(img);
        expect(nvs.pages()[0]!.state).to.equal("CORRUPT");
        expectEsp(() => nvs.getU16("ns", "n"), "ESP_ERR_NVS_NOT_FOUND");
        const newer = image();
        newer.set(encodePageHeader(0xfffffffe, 0, 0xfd), 0);
        expectEsp(() => mountNvs(newer), "ESP_ERR_NVS_NEW_VERSION_FOUND");
    });

    it("duplicates as nvs_storage/nvs_pagemanager resolve them; orphan blob_data is ignored", () => {
        // k=1 on FULL page 0, k=2 the last item of ACTIVE page 1
        const dup = generateImage(
            [{ kind: "namespace", name: "ns" }, { kind: "int", key: "k", type: "u8", value: 1n }, { kind: "blob", key: "big", bytes: new Uint8Array(4000) }, { kind: "int", key: "k", type: "u8", value: 2n }],
            { size: 0x4000 },
        );
        // Storage::findItem: the first page in sequence order wins
        const ro = mountNvs(dup.image);
        expect(ro.getU8("ns", "k")).to.equal(1);
        expect(ro.entries().filter(e => e.key === "k")).to.deep.equal([{ namespace: "ns", key: "k", type: "u8", value: 1 }]);
        // PageManager::load (read-write): the last item of the last page erases its older duplicate
        expect(mountNvs(dup.image, { readOnly: false }).getU8("ns", "k")).to.equal(2);
        // Page::mLoadEntryTable: on the ACTIVE page the later duplicate wins, on a FULL page the first
        const same = [{ kind: "namespace", name: "ns" }, { kind: "int", key: "k", type: "u8", value: 1n }, { kind: "int", key: "k", type: "u8", value: 2n }, { kind: "int", key: "z", type: "u8", value: 0n }] as NvsItem[];
        expect(mountNvs(generateImage(same, { size: 0x3000 }).image).getU8("ns", "k")).to.equal(2);
        const filler = Array.from({ length: 130 }, (_, i) => ({ kind: "int", key: `f${i}`, type: "u8", value: 0n }) as NvsItem);
        const full = generateImage([...same, ...filler], { size: 0x4000 }).image;
        expect(new DataView(full.buffer).getUint32(0, true)).to.equal(0xfffffffc);
        expect(mountNvs(full).getU8("ns", "k")).to.equal(1);
        // remove the blob_index of "b": its chunks become orphans and the key disappears
        const img = image();
        const p1 = rawItems(img, 1);
        const idxPos = p1.slice(0, p1.findIndex(x => x[0] === ItemType.BLOB_IDX)).reduce((a, x) => a + x[1], 0);
        img.fill(0, PAGE_SIZE + 64 + idxPos * 32 + 4, PAGE_SIZE + 64 + idxPos * 32 + 5); // break its CRC
        const m = mountNvs(img);
        expectEsp(() => m.getBlob("ns", "b"), "ESP_ERR_NVS_NOT_FOUND");
        expect(m.entries().map(e => e.key)).to.deep.equal(["n", "s"]);
    });

    it("old-generator images (unused pages with ACTIVE/FULL headers) are accepted", () => {
        const img = image();
        for (let p = 2; p < 4; p++) img.set(encodePageHeader(0xfffffffe, p, 0xfe), p * PAGE_SIZE);
        const ro = mountNvs(img);
        expect(ro.getStr("ns", "s")).to.equal("hello");
        expectEsp(() => mountNvs(img, { readOnly: false }), "ESP_ERR_NVS_NO_FREE_PAGES");
    });

    it("wrong keys look like missing items", () => {
        const encr = generateImage(items, { size: 0x4000, keys: KEYS }).image;
        const wrong = { eky: KEYS.tky, tky: KEYS.eky };
        expectEsp(() => mountNvs(encr, { keys: wrong }).getU16("ns", "n"), "ESP_ERR_NVS_NOT_FOUND");
        expect(mountNvs(encr, { keys: KEYS }).getU16("ns", "n")).to.equal(513);
    });
});

describe("nvs reader fuzz", () => {
    const base = generateImage(
        [{ kind: "namespace", name: "ns" }, { kind: "int", key: "n", type: "u32", value: 7n }, str("s", "text"), { kind: "blob", key: "b", bytes: new Uint8Array(4500).fill(3) }],
        { size: 0x4000 },
    ).image;
    const encrypted = generateImage([{ kind: "namespace", name: "ns" }, str("s", "secret")], { size: 0x3000, keys: KEYS }).image;

    function readAll(img: Uint8Array, keys?: NvsKeys): void {
        // the keyless scan the gate and diagnose use: any bytes, never a throw; every item is a written entry
        const stats = plaintextItemStats(img);
        expect(Number.isInteger(stats.written) && Number.isInteger(stats.items) && stats.items >= 0 && stats.items <= stats.written, JSON.stringify(stats)).to.equal(true);
        expect(stats.written).to.be.at.most((img.length >> 12) * 126);
        try {
            const nvs = mountNvs(img, { keys });
            nvs.pages();
            for (const e of nvs.entries()) {
                if (e.type === "blob") nvs.getBlob(e.namespace, e.key);
            }
            for (const get of [() => nvs.getU32("ns", "n"), () => nvs.getStr("ns", "s"), () => nvs.getBlob("ns", "b")]) {
                try {
                    get();
                } catch (e) {
                    if (!(e instanceof DiagnosticError)) throw e;
                }
            }
        } catch (e) {
            if (!(e instanceof DiagnosticError)) throw e;
        }
    }

    it("random bytes", () => {
        fc.assert(fc.property(fc.uint8Array({ maxLength: 9000 }), b => readAll(b)), { numRuns: 100 });
        fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.uint8Array({ minLength: 4096, maxLength: 4096 }), (n, b) => {
            const img = new Uint8Array(n * 4096);
            for (let i = 0; i < n; i++) img.set(b, i * 4096);
            readAll(img);
        }), { numRuns: 50 });
    });

    it("bit flips, truncation and extension of generated images", () => {
        for (const [img, keys] of [[base, undefined], [encrypted, KEYS]] as const) {
            fc.assert(
                fc.property(fc.array(fc.nat({ max: img.length * 8 - 1 }), { minLength: 1, maxLength: 8 }), bits => {
                    const m = img.slice();
                    for (const bit of bits) m[bit >> 3]! ^= 1 << (bit & 7);
                    readAll(m, keys);
                }),
                { numRuns: 150 },
            );
            fc.assert(
                fc.property(fc.nat({ max: img.length }), fc.uint8Array({ maxLength: 5000 }), (cut, extra) => {
                    readAll(img.subarray(0, cut), keys);
                    const ext = new Uint8Array(img.length + extra.length);
                    ext.set(img);
                    ext.set(extra, img.length);
                    readAll(ext, keys);
                }),
                { numRuns: 60 },
            );
        }
    });

    it("a truncated image is ESP_ERR_INVALID_SIZE", () => {
        expectEsp(() => mountNvs(base.subarray(0, 5000)), "ESP_ERR_INVALID_SIZE");
    });
});
