import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describeWithVectors } from "../testing/vectors.js";
import { decodeNvsKeys, decryptImage, generateFromCsv, mountNvs, type NvsEntryView, type NvsProblem } from "./index.js";

interface Case {
    name: string;
    size: number;
    version: 1 | 2;
    plain?: string;
    encrypted?: string;
    decrypted?: string;
    json: Array<{ file: string; image: string; keys?: string }>;
}

const CASES: Case[] = [
    { name: "01_primitives", size: 0x3000, version: 2, plain: "nvs.bin", json: [{ file: "expected_nvs.json", image: "nvs.bin" }] },
    { name: "02_strings_encodings", size: 0x4000, version: 2, plain: "nvs.bin", json: [{ file: "expected_nvs.json", image: "nvs.bin" }] },
    { name: "03_multipage_blob", size: 0x8000, version: 2, plain: "nvs.bin", json: [{ file: "expected_nvs.json", image: "nvs.bin" }] },
    { name: "06_page_overflow", size: 0x6000, version: 2, plain: "nvs.bin", json: [{ file: "expected_nvs.json", image: "nvs.bin" }] },
    { name: "07_version1", size: 0x3000, version: 1, plain: "nvs.bin", json: [{ file: "expected_nvs.json", image: "nvs.bin" }] },
    {
        name: "08_encrypted_fixedkey",
        size: 0x6000,
        version: 2,
        plain: "nvs_plain.bin",
        encrypted: "nvs_encr.bin",
        decrypted: "nvs_decrypted.bin",
        json: [{ file: "expected_nvs_encr.json", image: "nvs_encr.bin", keys: "nvs_keys.bin" }],
    },
    {
        name: "11_matter_chip_factory",
        size: 0x6000,
        version: 2,
        plain: "nvs.bin",
        encrypted: "nvs_encr.bin",
        json: [
            { file: "expected_nvs.json", image: "nvs.bin" },
            { file: "expected_nvs_encr.json", image: "nvs_encr.bin", keys: "nvs_keys.bin" },
        ],
    },
];

/** Parses the independent parser's JSON keeping every integer `value` exact (u64 exceeds a double). */
function readExpected(path: string): {
    pages: Array<{ index: number; state: string; seq: number; version: number; hdr_crc_ok?: boolean; written?: number }>;
    entries: Array<{ namespace: string; key: string; type: string; value?: string; hex?: string }>;
} {
    const text = readFileSync(path, "utf8").replace(/("value":\s*)(-?\d+)/g, '$1"$2"');
    return JSON.parse(text);
}

function view(e: NvsEntryView): { namespace: string; key: string; type: string; value: string } {
    const v = e.value instanceof Uint8Array ? Buffer.from(e.value).toString("hex") : String(e.value);
    return { namespace: e.namespace, key: e.key, type: e.type, value: v };
}

describeWithVectors("nvs golden vectors (nvs_partition_gen 0.2.0)", "nvs", root => {
    for (const c of CASES) {
        describe(c.name, () => {
            const dir = join(root, c.name);
            const csv = () => readFileSync(join(dir, "input.csv"), "utf8");
            const readFile = (p: string) => new Uint8Array(readFileSync(join(dir, p)));
            const keys = () => decodeNvsKeys(readFileSync(join(dir, "nvs_keys.bin")));

            if (c.plain) {
                it(`generate ${c.plain} byte-for-byte`, () => {
                    const r = generateFromCsv(csv(), { size: c.size, version: c.version, readFile });
                    expect(Buffer.from(r.image).equals(readFileSync(join(dir, c.plain!)))).to.equal(true);
                });
            }
            if (c.encrypted) {
                it(`encrypt ${c.encrypted} byte-for-byte`, () => {
                    const r = generateFromCsv(csv(), { size: c.size, version: c.version, readFile, keys: keys() });
                    expect(Buffer.from(r.image).equals(readFileSync(join(dir, c.encrypted!)))).to.equal(true);
                });
                it("decrypt gives back the plaintext image", () => {
                    const out = decryptImage(readFileSync(join(dir, c.encrypted!)), keys());
                    const want = readFileSync(join(dir, c.decrypted ?? c.plain!));
                    expect(Buffer.from(out).equals(want)).to.equal(true);
                });
            }
            for (const j of c.json) {
                it(`reader matches ${j.file}`, () => {
                    const exp = readExpected(join(dir, j.file));
                    const nvs = mountNvs(readFileSync(join(dir, j.image)), j.keys ? { keys: keys() } : {});
                    const pages = nvs.pages();
                    expect(pages.map(p => [p.index, p.state, p.seq, p.version])).to.deep.equal(
                        exp.pages.map(p => [p.index, p.state, p.seq, p.version]),
                    );
                    for (const p of exp.pages) {
                        if (p.hdr_crc_ok !== undefined) expect(pages[p.index]!.crcOk).to.equal(p.hdr_crc_ok);
                        if (p.written !== undefined) expect(pages[p.index]!.written).to.equal(p.written);
                    }
                    const problems: NvsProblem[] = [];
                    expect(nvs.entries(problems).map(view)).to.deep.equal(
                        exp.entries.map(e => ({
                            namespace: e.namespace,
                            key: e.key,
                            type: e.type === "blob_v1" ? "blob" : e.type,
                            value: e.hex ?? e.value,
                        })),
                    );
                    expect(problems).to.deep.equal([]);
                });
            }
        });
    }

    it("11: an encrypted image read without keys (or with the wrong keys) shows no entries, like the device", () => {
        const dir = join(root, "11_matter_chip_factory");
        const img = readFileSync(join(dir, "nvs_encr.bin"));
        expect(mountNvs(img).entries()).to.deep.equal([]);
        const wrong = { eky: new Uint8Array(32).fill(1), tky: new Uint8Array(32).fill(2) };
        const nvs = mountNvs(img, { keys: wrong });
        expect(() => nvs.getU32("chip-factory", "discriminator")).to.throw().with.property("code", "ESP_ERR_NVS_NOT_FOUND");
        expect(mountNvs(img, { keys: decodeNvsKeys(readFileSync(join(dir, "nvs_keys.bin"))) }).getU32("chip-factory", "discriminator")).to.equal(3840);
    });
});
