import { expect } from "chai";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DiagnosticError } from "../esp_common/err.js";
import { describeWithVectors } from "../testing/vectors.js";
import {
    decodePartitionTable,
    encodePartitionTable,
    findPartition,
    otaAppPartitions,
    parsePartitionCsv,
    partitionTableToCsv,
    type PartitionEntry,
} from "./index.js";

describeWithVectors("esp_partition golden vectors (gen_esp32part.py)", "esp32/partition_table", dir => {
    const csv = readFileSync(join(dir, "matter_light_wifi.csv"), "utf8");
    const bin = readFileSync(join(dir, "matter_light_wifi.bin"));
    it("CSV → binary is byte-identical", () => {
        expect(Buffer.from(encodePartitionTable(parsePartitionCsv(csv))).equals(bin)).to.equal(true);
        expect(createHash("md5").update(bin).digest("hex")).to.equal("ffc5087b3854fe8f22971a27be08e64a");
    });
    it("binary → CSV → binary is byte-identical, esp_secure_cert gets subtype 0x06", () => {
        const t = decodePartitionTable(bin, { chipSize: 4 << 20 });
        expect(t.md5).to.equal(true);
        expect(t.entries[0]).to.include({ name: "esp_secure_cert", type: 0x3f, subtype: 0x06, offset: 0xd000, size: 0x2000 });
        expect(Buffer.from(encodePartitionTable(parsePartitionCsv(partitionTableToCsv(t.entries)))).equals(bin)).to.equal(true);
    });
    it("auto offsets follow the previous partition (nvs_keys 0x16000, otadata 0x17000, ot_storage 0x3e6000)", () => {
        const e = parsePartitionCsv(csv);
        expect(findPartition(e, "data", "nvs_keys")!.offset).to.equal(0x16000);
        expect(findPartition(e, "data", "ota")!.offset).to.equal(0x17000);
        expect(findPartition(e, "data", "ot_storage")!.offset).to.equal(0x3e6000);
        expect(otaAppPartitions(e).map(p => p.name)).to.deep.equal(["ota_0", "ota_1"]);
    });
    it("the bootloader rejects the table on a 2 MB chip and on a flipped MD5 byte", () => {
        expect(() => decodePartitionTable(bin, { chipSize: 2 << 20 })).to.throw(DiagnosticError).with.property("code", "ESP_ERR_INVALID_SIZE");
        const bad = Buffer.from(bin);
        bad[9 * 32 + 20]! ^= 1;
        expect(() => decodePartitionTable(bad)).to.throw(DiagnosticError).with.property("code", "ESP_ERR_INVALID_CRC");
    });
});

describe("esp_partition CSV rules", () => {
    const err = (csv: string, opts = {}) => {
        try {
            parsePartitionCsv(csv, opts);
        } catch (e) {
            expect(e).to.be.instanceOf(DiagnosticError);
            return e as DiagnosticError;
        }
        throw new Error("expected an error");
    };
    it("parses K/M suffixes, comments, flags and app alignment", () => {
        const e = parsePartitionCsv("# c\nnvs, data, nvs, , 24K\nfctry, data, nvs, , 0x3000, readonly:encrypted\nfactory, app, factory, , 1M\n");
        expect(e.map(x => [x.offset, x.size])).to.deep.equal([[0x9000, 0x6000], [0xf000, 0x3000], [0x20000, 0x100000]]);
        expect(e[1]).to.include({ readonly: true, encrypted: true });
        const bin = encodePartitionTable(e);
        expect(new DataView(bin.buffer).getUint32(32 + 28, true)).to.equal(3);
    });
    it("reports errors by gen_esp32part's rule with the CSV line", () => {
        expect(err("a, data, nvs, 0x9000, 0x6000\nb, data, phy, 0xa000, 0x1000\n").message).to.match(/overlap/);
        expect(err("a, data, nvs, 0x9000, 0x6000\nb, data, phy, 0xa000, 0x1000\n").context.line).to.equal(2);
        expect(err("a, app, factory, 0x11000, 0x10000\n").message).to.match(/not aligned to 0x10000/);
        expect(err("a, app, factory, 0x10000, 0x10800\n").message).to.match(/Size 0x10800 is not aligned to 0x1000/);
        expect(err("o, data, ota, , 0x1000\n").message).to.match(/otadata partition must have size = 0x2000/);
        expect(err("o, data, ota, , 0x2000\np, data, ota, , 0x2000\n").message).to.match(/multiple otadata/);
        expect(err("n, data, nvs, , 0x2000\n").message).to.match(/readonly/);
        expect(err("n, data, nvs, , 0x3000\nn, data, phy, , 0x1000\n").message).to.match(/unique/);
        expect(err("n, data, nvs, , 0x3000, secret\n").message).to.match(/unknown flag 'secret'/);
        expect(err("n, data, nvsx, , 0x3000\n").message).to.match(/not valid. Known keywords/);
        expect(err("n, app, , , 0x3000\n").message).to.match(/empty subtype/);
        expect(err("n, data, nvs, 0x8000, 0x3000\n").message).to.match(/partition table occupies/);
        expect(err("a, app, factory, 0x10000, 4M\n", { flashSize: 4 << 20 }).message).to.match(/does not fit/);
        expect(err("a, data, nvs, , $NOPE\n").message).to.match(/unknown variable 'NOPE'/);
    });
    it("negative size means 'up to this address', --offset moves the first free offset", () => {
        const e = parsePartitionCsv("n, data, nvs, , -0x10000\n", { offset: 0xc000 });
        expect(e[0]).to.include({ offset: 0xd000, size: 0x3000 });
    });
});

/** Arbitrary valid tables: sequential non-overlapping rows with valid sizes and unique names. */
const validTable = fc
    .array(
        fc.record({
            kind: fc.constantFrom("app", "nvs", "phy", "fat", "custom", "nvs_keys", "coredump"),
            sizeUnits: fc.integer({ min: 1, max: 64 }),
            gapUnits: fc.integer({ min: 0, max: 3 }),
            encrypted: fc.boolean(),
            readonly: fc.boolean(),
            sub: fc.integer({ min: 0, max: 15 }),
        }),
        { minLength: 1, maxLength: 20 },
    )
    .map(rows => {
        let at = 0x9000;
        return rows.map((r, i): PartitionEntry => {
            const app = r.kind === "app";
            const align = app ? 0x10000 : 0x1000;
            at = Math.ceil((at + r.gapUnits * 0x1000) / align) * align;
            const size = r.kind === "nvs" ? 0x3000 + r.sizeUnits * 0x1000 : r.sizeUnits * 0x1000;
            const [type, subtype] =
                app ? [0, 0x10 + r.sub] : r.kind === "nvs" ? [1, 2] : r.kind === "phy" ? [1, 1] : r.kind === "fat" ? [1, 0x81] : r.kind === "nvs_keys" ? [1, 4] : r.kind === "coredump" ? [1, 3] : [0x40 + r.sub, r.sub];
            const e: PartitionEntry = { name: `p${i}_${r.kind}`.slice(0, 16), type, subtype, offset: at, size, encrypted: r.encrypted, readonly: r.kind === "coredump" ? false : r.readonly };
            at += size;
            return e;
        });
    });

describe("esp_partition properties", () => {
    it("CSV → binary → CSV round-trips arbitrary valid tables", () => {
        fc.assert(
            fc.property(validTable, entries => {
                const bin = encodePartitionTable(entries);
                const back = decodePartitionTable(bin).entries;
                expect(back).to.deep.equal(entries.map(({ line: _l, ...e }) => e));
                const viaCsv = parsePartitionCsv(partitionTableToCsv(back)).map(({ line: _l, ...e }) => e);
                expect(viaCsv).to.deep.equal(back);
                expect(Buffer.from(encodePartitionTable(viaCsv)).equals(Buffer.from(bin))).to.equal(true);
            }),
            { numRuns: 150 },
        );
    });
    it("decoding random or mutated bytes gives a table or a DiagnosticError, never another exception", () => {
        const golden = encodePartitionTable(parsePartitionCsv("nvs, data, nvs, , 0x6000\notadata, data, ota, , 0x2000\nota_0, app, ota_0, , 1M\n"));
        const mutated = fc.record({ pos: fc.nat({ max: golden.length - 1 }), bit: fc.nat({ max: 7 }), cut: fc.nat({ max: golden.length }), extend: fc.boolean() }).map(m => {
            const b = new Uint8Array(golden);
            b[m.pos]! ^= 1 << m.bit;
            const cut = b.subarray(0, m.extend ? b.length : m.cut);
            return m.extend ? Uint8Array.from([...cut, 1, 2, 3]) : cut;
        });
        fc.assert(
            fc.property(fc.oneof(fc.uint8Array({ maxLength: 4096 }), mutated), bytes => {
                try {
                    const t = decodePartitionTable(bytes, { chipSize: 4 << 20 });
                    expect(t.entries.length).to.be.greaterThan(0);
                } catch (e) {
                    expect(e).to.be.instanceOf(DiagnosticError);
                }
            }),
            { numRuns: 400 },
        );
    });
    it("CSV parsing of random text gives entries or a DiagnosticError", () => {
        fc.assert(
            fc.property(fc.array(fc.array(fc.constantFrom("a", "app", "data", "nvs", "ota_1", "0x1000", "4K", "-1", "", "encrypted", " ", "#", "1M", "0x10000"), { maxLength: 7 }).map(f => f.join(",")), { maxLength: 6 }), lines => {
                try {
                    parsePartitionCsv(lines.join("\n"));
                } catch (e) {
                    expect(e).to.be.instanceOf(DiagnosticError);
                }
            }),
            { numRuns: 300 },
        );
    });
});
