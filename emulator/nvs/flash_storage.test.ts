import { expect } from "chai";
import fc from "fast-check";
import { EspError } from "../esp_common/err.js";
import { NorFlash, PowerLossError } from "../spi_flash/flash.js";
import { mountNvsFlash, type NvsFlashHandle, type NvsValueType } from "./flash_storage.js";
import { generateImage, mountNvs, type NvsKeys } from "./index.js";
import { PAGE_SIZE } from "./format.js";

const KEYS: NvsKeys = { eky: new Uint8Array(32).map((_, i) => i * 3), tky: new Uint8Array(32).map((_, i) => 0x40 + i) };
type Value = number | bigint | string | Uint8Array;

/** Keys carry a fixed type (nvs_set of another type on an existing key is not a case the device cleans up). */
const KEYSPACE: Array<[string, NvsValueType]> = [
    ["u8a", "u8"], ["i8a", "i8"], ["u16a", "u16"], ["i32a", "i32"], ["u64a", "u64"], ["i64a", "i64"],
    ["s1", "string"], ["s2", "string"], ["b1", "blob"], ["b2", "blob"], ["big", "blob"], ["u32a", "u32"],
];

function valueArb(type: NvsValueType): fc.Arbitrary<Value> {
    switch (type) {
        case "u8": return fc.integer({ min: 0, max: 255 });
        case "i8": return fc.integer({ min: -128, max: 127 });
        case "u16": return fc.integer({ min: 0, max: 0xffff });
        case "i16": return fc.integer({ min: -0x8000, max: 0x7fff });
        case "u32": return fc.integer({ min: 0, max: 0xffffffff });
        case "i32": return fc.integer({ min: -0x80000000, max: 0x7fffffff });
        case "u64": return fc.bigInt(0n, 0xffffffffffffffffn);
        case "i64": return fc.bigInt(-0x8000000000000000n, 0x7fffffffffffffffn);
        case "string": return fc.oneof(fc.string({ maxLength: 40 }), fc.integer({ min: 100, max: 1500 }).map(n => "x".repeat(n)));
        case "blob": return fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 1, max: 6000 }).chain(n => fc.integer({ min: 0, max: 255 }).map(s => new Uint8Array(n).map((_, i) => (i * 31 + s) & 0xff))));
    }
}

type Op = { op: "set"; ns: string; key: string; type: NvsValueType; value: Value } | { op: "erase"; ns: string; key: string } | { op: "eraseAll"; ns: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom("app", "CHIP_KVS"), fc.constantFrom(...KEYSPACE)).chain(([ns, [key, type]]) => valueArb(type).map(value => ({ op: "set", ns, key, type, value }) as Op)) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom("app", "CHIP_KVS"), fc.constantFrom(...KEYSPACE)).map(([ns, [key]]) => ({ op: "erase", ns, key }) as Op) },
    { weight: 1, arbitrary: fc.constantFrom("app", "CHIP_KVS").map(ns => ({ op: "eraseAll", ns }) as Op) },
);

type Model = Map<string, { type: NvsValueType; value: Value }>;

function newChip(size = 0x6000): { chip: NorFlash; region: ReturnType<NorFlash["region"]> } {
    const chip = new NorFlash({ size: 0x10000, anySize: true, overwrite: "error", seed: 7 });
    return { chip, region: chip.region(0x1000, size) };
}

function handle(region: ReturnType<NorFlash["region"]>, ns: string, keys?: NvsKeys): NvsFlashHandle {
    return mountNvsFlash(region, { keys }).open(ns, "readwrite");
}

/** Applies one op to flash and model; NOT_ENOUGH_SPACE leaves the model as it was (the old value stays). */
function apply(nvs: ReturnType<typeof mountNvsFlash>, model: Model, op: Op): void {
    const h = nvs.open(op.ns, "readwrite");
    try {
        if (op.op === "set") {
            h.set(op.key, op.type, op.value);
            model.set(`${op.ns}/${op.key}`, { type: op.type, value: op.value });
        } else if (op.op === "erase") {
            const had = model.has(`${op.ns}/${op.key}`);
            try {
                h.eraseKey(op.key);
                expect(had, `erase ${op.key} succeeded`).to.equal(true);
            } catch (e) {
                if (!(e instanceof EspError) || e.code !== "ESP_ERR_NVS_NOT_FOUND" || had) throw e;
            }
            model.delete(`${op.ns}/${op.key}`);
        } else {
            h.eraseAll();
            for (const k of [...model.keys()]) if (k.startsWith(`${op.ns}/`)) model.delete(k);
        }
    } catch (e) {
        if (e instanceof EspError && e.code === "ESP_ERR_NVS_NOT_ENOUGH_SPACE") return;
        throw e;
    }
}

function same(a: Value, b: Value): boolean {
    if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
    return a === b || (typeof a === "bigint" && typeof b === "number" && a === BigInt(b));
}

function readValue(nvs: ReturnType<typeof mountNvsFlash>, ns: string, key: string, type: NvsValueType): Value | undefined {
    try {
        return nvs.open(ns, "readonly").get(key, type);
    } catch (e) {
        if (e instanceof EspError && e.code === "ESP_ERR_NVS_NOT_FOUND") return undefined;
        throw e;
    }
}

function expectModel(nvs: ReturnType<typeof mountNvsFlash>, model: Model): void {
    for (const ns of ["app", "CHIP_KVS"]) {
        for (const [key, type] of KEYSPACE) {
            const want = model.get(`${ns}/${key}`);
            const got = readValue(nvs, ns, key, type);
            if (!want) expect(got, `${ns}/${key} should be absent`).to.equal(undefined);
            else expect(got !== undefined && same(got, want.value), `${ns}/${key}`).to.equal(true);
        }
    }
}

/** The independent read-only reader (reader.ts) sees the same map. */
function expectReader(bytes: Uint8Array, model: Model, keys?: NvsKeys): void {
    const r = mountNvs(bytes, { keys });
    const got = new Map<string, Value>(r.entries().map(e => [`${e.namespace}/${e.key}`, e.value]));
    expect([...got.keys()].sort()).to.deep.equal([...model.keys()].sort());
    for (const [k, v] of model) expect(same(got.get(k)!, v.value), k).to.equal(true);
}

describe("nvs read-write (nvs_flash semantics)", function () {
    this.timeout(20000);

    it("arbitrary set/erase sequences read back as the model, also after remount and through the reader", () => {
        fc.assert(
            fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), ops => {
                const { region } = newChip();
                const model: Model = new Map();
                const nvs = mountNvsFlash(region);
                for (const op of ops) apply(nvs, model, op);
                expectModel(nvs, model);
                expectModel(mountNvsFlash(region), model);
                expectReader(region.read(0, region.size), model);
            }),
            { numRuns: 40 },
        );
    });

    it("the same encrypted (XTS per entry): plaintext never reaches the flash", () => {
        fc.assert(
            fc.property(fc.array(opArb, { minLength: 1, maxLength: 20 }), ops => {
                const { region } = newChip();
                const model: Model = new Map();
                const nvs = mountNvsFlash(region, { keys: KEYS });
                for (const op of ops) apply(nvs, model, op);
                expectModel(mountNvsFlash(region, { keys: KEYS }), model);
                expectReader(region.read(0, region.size), model, KEYS);
                const raw = Buffer.from(region.read(0, region.size));
                expect(raw.includes(Buffer.from("CHIP_KVS"))).to.equal(false);
            }),
            { numRuns: 12 },
        );
    });

    it("power loss during the Nth flash operation of a set/erase: every key holds its old or new value, the partition mounts and keeps working", () => {
        fc.assert(
            fc.property(
                fc.array(opArb, { minLength: 0, maxLength: 30 }),
                opArb,
                fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 300 })),
                fc.integer({ min: 1, max: 1000 }),
                fc.boolean(),
                (prefix, last, n, seed, encrypted) => {
                    const chip = new NorFlash({ size: 0x10000, anySize: true, overwrite: "error", seed });
                    const region = chip.region(0x1000, 0x5000);
                    const keys = encrypted ? KEYS : undefined;
                    const model: Model = new Map();
                    let nvs = mountNvsFlash(region, { keys });
                    for (const op of prefix) apply(nvs, model, op);
                    const before = new Map(model);
                    const intended = new Map(model);
                    if (last.op === "set") intended.set(`${last.ns}/${last.key}`, { type: last.type, value: last.value });
                    else if (last.op === "erase") intended.delete(`${last.ns}/${last.key}`);
                    else for (const k of [...intended.keys()]) if (k.startsWith(`${last.ns}/`)) intended.delete(k);
                    let after = new Map(model);
                    chip.schedulePowerLoss(chip.opCount + n);
                    let torn = false;
                    try {
                        apply(nvs, after, last);
                    } catch (e) {
                        if (!(e instanceof PowerLossError)) throw e;
                        torn = true;
                        after = intended;
                    }
                    chip.powerOn();
                    nvs = mountNvsFlash(region, { keys });
                    const h = (ns: string) => nvs.open(ns, "readonly");
                    for (const ns of ["app", "CHIP_KVS"]) {
                        let opened: NvsFlashHandle | undefined;
                        try {
                            opened = h(ns);
                        } catch {
                            opened = undefined;
                        }
                        for (const [key, type] of KEYSPACE) {
                            const k = `${ns}/${key}`;
                            const got = opened ? readValue(nvs, ns, key, type) : undefined;
                            const ok = (m: Model) => (m.get(k) === undefined ? got === undefined : got !== undefined && same(got, m.get(k)!.value));
                            if (torn) expect(ok(before) || ok(after), `${k} is neither old nor new: ${JSON.stringify([prefix, last, n, seed, encrypted], (_, v) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? `bytes${v.length}` : v))} got ${String(got)}`).to.equal(true);
                            else expect(ok(after), k).to.equal(true);
                        }
                    }
                    // still writable and consistent afterwards
                    const w = nvs.open("app", "readwrite");
                    w.setU8("u8a", 42);
                    expect(mountNvsFlash(region, { keys }).open("app").getU8("u8a")).to.equal(42);
                },
            ),
            { numRuns: 250 },
        );
    });

    it("filling the partition ends in ESP_ERR_NVS_NOT_ENOUGH_SPACE, not corruption; values written so far stay", () => {
        const { region } = newChip(0x4000);
        const h = handle(region, "fill");
        const written = new Map<string, number>();
        let err: unknown;
        for (let i = 0; i < 1000; i++) {
            try {
                h.setU32(`k${i}`, i * 7);
                written.set(`k${i}`, i * 7);
            } catch (e) {
                err = e;
                break;
            }
        }
        expect(err).to.be.instanceOf(EspError);
        expect((err as EspError).code).to.equal("ESP_ERR_NVS_NOT_ENOUGH_SPACE");
        // 4 pages, one kept free: 3 × 126 entries minus the namespace entry
        expect(written.size).to.equal(3 * 126 - 1);
        expect(() => h.setBlob("blob", new Uint8Array(100))).to.throw(EspError).with.property("code", "ESP_ERR_NVS_NOT_ENOUGH_SPACE");
        const again = mountNvsFlash(region).open("fill", "readwrite");
        for (const [k, v] of written) expect(again.getU32(k)).to.equal(v);
        // erasing makes room again (the GC reclaims the erased entries)
        for (let i = 0; i < 50; i++) again.eraseKey(`k${i}`);
        again.setBlob("blob", new Uint8Array(1000).fill(9));
        expect(mountNvsFlash(region).open("fill").getBlob("blob")).to.deep.equal(new Uint8Array(1000).fill(9));
    });

    it("garbage collection keeps working over many cycles and wears through the pages", () => {
        const { chip, region } = newChip(0x5000);
        const h = handle(region, "gc");
        const erases = new Map<number, number>();
        for (let i = 0; i < 4000; i++) {
            h.setU32(`c${i % 30}`, i);
            if (i % 7 === 0) h.setStr("s", `v${i}`.repeat(20));
            if (i % 13 === 0) h.setBlob("b", new Uint8Array(300).fill(i & 0xff));
        }
        for (const op of chip.log) if (op.kind === "erase") erases.set(op.offset, (erases.get(op.offset) ?? 0) + 1);
        // requestNewPage reclaims the page with the most unused entries: page 0 keeps the namespace entry and is
        // never chosen while fully erased pages exist (ESP-IDF's policy, no static wear levelling); every other page cycles
        for (let p = 1; p < 5; p++) expect(erases.get(0x1000 + p * PAGE_SIZE) ?? 0, `page ${p} erased`).to.be.greaterThan(10);
        expect(mountNvsFlash(region).pageStates()[0]).to.include({ state: "FULL", seq: 0, used: 1 });
        const m = mountNvsFlash(region).open("gc");
        for (let c = 0; c < 30; c++) expect(m.getU32(`c${c}`)).to.equal(3970 + ((c - 3970 % 30 + 30) % 30));
        expect(m.getBlob("b")).to.deep.equal(new Uint8Array(300).fill(3991 & 0xff));
    });

    it("mounts a generated image read-write and updates it in place; a full partition without a free page is refused", () => {
        const gen = generateImage([{ kind: "namespace", name: "ns" }, { kind: "int", key: "n", type: "u16", value: 513n }], { size: 0x3000 });
        const chip = new NorFlash({ size: 0x10000, anySize: true, image: new Uint8Array([...new Uint8Array(0x1000).fill(0xff), ...gen.image]) });
        const region = chip.region(0x1000, 0x3000);
        const h = mountNvsFlash(region).open("ns", "readwrite");
        expect(h.getU16("n")).to.equal(513);
        h.setU16("n", 514);
        h.setStr("new", "x");
        expect(mountNvs(region.read(0, 0x3000)).getU16("ns", "n")).to.equal(514);
        const ro = generateImage([{ kind: "namespace", name: "ns" }], { size: 0x2000 }).image; // read-only size: no free page
        const full = new NorFlash({ size: 0x10000, anySize: true, image: ro });
        expect(() => mountNvsFlash(full.region(0, 0x1000))).to.throw(EspError).with.property("code", "ESP_ERR_NVS_NO_FREE_PAGES");
        expect(mountNvsFlash(full.region(0, 0x1000), { readOnly: true }).open("ns").keys()).to.deep.equal([]);
        expect(() => mountNvsFlash(full.region(0, 0x1000), { readOnly: true }).open("ns", "readwrite")).to.throw(EspError).with.property("code", "ESP_ERR_NOT_ALLOWED");
    });

    it("setting an unchanged value writes nothing; nvs_open read-write writes the namespace entry once", () => {
        const { chip, region } = newChip();
        const nvs = mountNvsFlash(region);
        const h = nvs.open("ns", "readwrite");
        const afterOpen = chip.opCount;
        expect(afterOpen).to.equal(3); // page header, namespace entry, its bitmap word
        h.setStr("s", "abc");
        h.setBlob("b", new Uint8Array(50));
        const n = chip.opCount;
        h.setStr("s", "abc");
        h.setBlob("b", new Uint8Array(50));
        nvs.open("ns", "readwrite");
        expect(chip.opCount).to.equal(n);
        expect(() => h.setStr("this-key-is-too-long", "x")).to.throw(EspError).with.property("code", "ESP_ERR_NVS_KEY_TOO_LONG");
        expect(() => nvs.open("ns").setU8("x", 1)).to.throw(EspError).with.property("code", "ESP_ERR_NVS_READ_ONLY");
    });
});
