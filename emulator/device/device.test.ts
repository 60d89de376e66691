import { expect } from "chai";
import fc from "fast-check";
import { Crypto, Environment, Logger, LogLevel, Spake2p } from "@matter/main";
import { DiagnosticError, EspError } from "../esp_common/err.js";
import { startDevice, type RunningDevice } from "./device.js";
import { validateFactoryData, type DeviceFactoryData } from "./factory-data.js";
import { isLoopbackAddress, LoopbackNetwork, type NetworkFaults } from "./network.js";
import { BackendStorageDriver, MemoryStorageBackend } from "./storage.js";
import { computeVerifier, createTestDac, createTestFactoryData, createTestPki, type TestPki } from "./testing.js";
import { pbkdf2Sync } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";

const firmware = { softwareVersion: 1, softwareVersionString: "1.0.0" };

describe("emulator/device", function () {
    this.timeout(20000);
    let pki: TestPki;
    let fd: DeviceFactoryData;

    before(async () => {
        Logger.level = LogLevel.ERROR;
        pki = await createTestPki();
        fd = (await createTestFactoryData(pki)).factoryData;
    });

    describe("factory data validation (boot refuses bad data, never falls back)", () => {
        it("accepts complete, consistent factory data", () => {
            const c = validateFactoryData(fd, firmware);
            expect(c.dacVendorId).to.equal(pki.vendorId);
            expect(c.paiProductId).to.equal(pki.productId);
        });

        for (const [field, key] of [["dacCert", "dac-cert"], ["dacKey", "dac-key"], ["paiCert", "pai-cert"], ["certDeclaration", "cert-dclrn"], ["verifier", "verifier"], ["salt", "salt"]] as const) {
            it(`missing ${field} → EspError ESP_ERR_NVS_NOT_FOUND reading ${key}`, () => {
                const broken = { ...fd, [field]: undefined };
                try {
                    validateFactoryData(broken);
                    expect.fail("accepted");
                } catch (e) {
                    expect(e).to.be.instanceOf(EspError);
                    expect((e as EspError).code).to.equal("ESP_ERR_NVS_NOT_FOUND");
                    expect((e as EspError).message).to.equal(`reading ${key} from fctry`);
                    expect((e as EspError).context.field).to.equal(key);
                }
            });
        }

        it("DAC VID ≠ vendor-id → DacVendorIdMismatch; DAC PID ≠ product-id → DacProductIdMismatch", async () => {
            const otherVid = await createTestDac(pki, { vendorId: 0xfff2 });
            expect(() => validateFactoryData({ ...fd, ...otherVid })).to.throw(DiagnosticError).with.property("code", "DacVendorIdMismatch");
            const otherPid = await createTestDac(pki, { productId: 0x8001 });
            expect(() => validateFactoryData({ ...fd, ...otherPid })).to.throw(DiagnosticError).with.property("code", "DacProductIdMismatch");
            expect(() => validateFactoryData({ ...fd, productId: 0x8001 })).to.throw(DiagnosticError).with.property("code", "DacProductIdMismatch");
        });

        it("rejects out-of-range values with the NVS/CHIP error name", () => {
            const cases: [Partial<DeviceFactoryData>, string][] = [
                [{ salt: new Uint8Array(15) }, "ESP_ERR_NVS_INVALID_LENGTH"],
                [{ verifier: new Uint8Array(96) }, "ESP_ERR_NVS_INVALID_LENGTH"],
                [{ iterationCount: 999 }, "CHIP_ERROR_INVALID_ARGUMENT"],
                [{ discriminator: 0x1000 }, "CHIP_ERROR_INVALID_ARGUMENT"],
                [{ dacKey: new Uint8Array(32) }, "CHIP_ERROR_INVALID_ARGUMENT"],
                [{ dacCert: new Uint8Array([0x30, 0x03, 1, 2, 3]) }, "CHIP_ERROR_UNSUPPORTED_CERT_FORMAT"],
                [{ serialNumber: "x".repeat(33) }, "CHIP_ERROR_BUFFER_TOO_SMALL"],
                [{ manufacturingDate: "2024-01-15" }, "CHIP_ERROR_INVALID_ARGUMENT"],
            ];
            for (const [patch, code] of cases) {
                expect(() => validateFactoryData({ ...fd, ...patch }), JSON.stringify(Object.keys(patch))).to.throw(DiagnosticError).with.property("code", code);
            }
        });

        it("never throws anything but DiagnosticError on random certificate bytes", () => {
            fc.assert(
                fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.constantFrom("dacCert", "paiCert", "certDeclaration"), (bytes, field) => {
                    try {
                        validateFactoryData({ ...fd, [field]: bytes });
                    } catch (e) {
                        expect(e).to.be.instanceOf(DiagnosticError);
                    }
                }),
                { numRuns: 150 },
            );
        });
    });

    describe("SPAKE2+ verifier (test helper) against an independent computation", () => {
        it("matches PBKDF2 → w0, L = w1·G", () => {
            const salt = new Uint8Array(16).fill(7);
            const v = computeVerifier(20202021, salt, 1000);
            const ws = pbkdf2Sync(Buffer.from([0x25, 0x42, 0x34, 0x01]) /* 20202021 = 0x01344225, little-endian */, salt, 1000, 80, "sha256");
            const n = p256.Point.CURVE().n;
            const w1 = BigInt(`0x${ws.subarray(40).toString("hex")}`) % n;
            expect(Buffer.from(v.subarray(32)).toString("hex")).to.equal(Buffer.from(p256.Point.BASE.multiply(w1).toBytes(false)).toString("hex"));
            expect(BigInt(`0x${Buffer.from(v.subarray(0, 32)).toString("hex")}`)).to.equal(BigInt(`0x${ws.subarray(0, 40).toString("hex")}`) % n);
        });

        it("matches matter.js's own Spake2p.computeW0L", async () => {
            const salt = new Uint8Array(32).fill(0x33);
            const { w0, L } = await Spake2p.computeW0L(Environment.default.get(Crypto), { iterations: 2000, salt }, 34567890);
            const v = computeVerifier(34567890, salt, 2000);
            expect(BigInt(`0x${Buffer.from(v.subarray(0, 32)).toString("hex")}`)).to.equal(w0);
            expect(Buffer.from(v.subarray(32)).toString("hex")).to.equal(Buffer.from(L).toString("hex"));
        });
    });

    describe("storage adapter", () => {
        it("round-trips arbitrary values through a backend and survives reopen; clearAll deletes from the backend", async () => {
            await fc.assert(
                fc.asyncProperty(
                    fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.uint8Array({ maxLength: 40 }), fc.bigInt({ min: 0n, max: 2n ** 64n }))),
                    async values => {
                        const backend = new MemoryStorageBackend();
                        const d1 = await BackendStorageDriver.open(backend, "node");
                        d1.set(["root", "fabrics"], values);
                        await d1.close();
                        const d2 = await BackendStorageDriver.open(backend, "node");
                        expect(d2.values(["root", "fabrics"])).to.deep.equal(values);
                        d2.clearAll([]);
                        await d2.flush();
                        expect(backend.size).to.equal(0);
                    },
                ),
                { numRuns: 40 },
            );
        });

        it("a corrupt stored value is a DiagnosticError, not a crash", async () => {
            const backend = new MemoryStorageBackend();
            backend.set("node/root/x", new Uint8Array([0xff, 0xfe]));
            try {
                await BackendStorageDriver.open(backend, "node");
                expect.fail("accepted");
            } catch (e) {
                expect(e).to.be.instanceOf(DiagnosticError);
            }
        });
    });

    describe("network", () => {
        it("loopback predicate", () => {
            for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) expect(isLoopbackAddress(a), a).to.equal(true);
            for (const a of ["0.0.0.0", "192.168.1.1", "::", "fe80::1", "224.0.0.251", "ff02::fb", "128.0.0.1"]) expect(isLoopbackAddress(a), a).to.equal(false);
        });

        it("network faults drop, duplicate and delay datagrams deterministically from their seed", async () => {
            const receiveVia = async (seed: number) => {
                const net = new LoopbackNetwork();
                const faults: NetworkFaults = { seed, drop: 0.3, duplicate: 0.2, delayMs: [0, 5] };
                const faulty = new LoopbackNetwork(undefined, faults);
                const rx = await net.createUdpSocket({ type: "udp4", listeningPort: 0 });
                const tx = await faulty.createUdpSocket({ type: "udp4", listeningPort: 0 });
                const got: number[] = [];
                rx.onData((_i, _h, _p, data) => got.push(data[0]!));
                try {
                    for (let i = 0; i < 100; i++) await tx.send("127.0.0.1", rx.port, Uint8Array.of(i));
                    await new Promise(r => setTimeout(r, 100));
                } finally {
                    await tx.close();
                    await rx.close();
                }
                return { got: got.sort((a, b) => a - b), stats: faults.stats! };
            };
            const a = await receiveVia(42);
            expect(a.stats.sent).to.equal(100);
            expect(a.stats.dropped).to.be.within(15, 45);
            expect(a.got.length).to.equal(100 - a.stats.dropped + a.stats.duplicated);
            const b = await receiveVia(42);
            expect(b).to.deep.equal(a);
            expect((await receiveVia(43)).got).to.not.deep.equal(a.got);
        });

        it("mDNS sockets are inert, Matter sockets bind loopback and refuse other destinations", async () => {
            const net = new LoopbackNetwork();
            const mdns = await net.createUdpSocket({ type: "udp6", listeningPort: 5353, reuseAddress: true });
            const before = LoopbackNetwork.droppedMulticastMessages;
            await mdns.send("ff02::fb", 5353, new Uint8Array(10));
            expect(LoopbackNetwork.droppedMulticastMessages).to.equal(before + 1);
            expect(await net.getNetInterfaces()).to.deep.equal([]);
            const udp = await net.createUdpSocket({ type: "udp4", listeningAddress: "0.0.0.0" });
            try {
                let err: unknown;
                await udp.send("192.0.2.1", 5540, new Uint8Array(1)).catch(e => (err = e));
                expect(String(err)).to.match(/loopback/);
            } finally {
                await udp.close();
            }
        });
    });

    describe("boot", () => {
        let dev: RunningDevice | undefined;
        afterEach(async () => {
            await dev?.stop();
            dev = undefined;
        });

        it("boots commissionable on a loopback port with Basic Information from factory data, stops fast", async () => {
            dev = await startDevice({ factoryData: fd, firmware, storage: new MemoryStorageBackend() });
            expect(dev.port).to.be.greaterThan(0);
            expect(dev.commissionedFabrics).to.equal(0);
            const bi = dev.node.state.basicInformation;
            expect(bi.serialNumber).to.equal(fd.serialNumber);
            expect(bi.vendorId).to.equal(fd.vendorId);
            expect(bi.softwareVersionString).to.equal("1.0.0");
            // The device never holds the real passcode.
            expect(dev.node.state.commissioning.passcode).to.not.equal(20202021);
            expect(dev.timings.bootMs).to.be.lessThan(3000);
            const t = performance.now();
            await dev.stop();
            expect(performance.now() - t).to.be.lessThan(500);
        });

        it("missing dac-cert → boot fails with ESP_ERR_NVS_NOT_FOUND, no node created", async () => {
            const storage = new MemoryStorageBackend();
            let err: unknown;
            await startDevice({ factoryData: { ...fd, dacCert: undefined as never }, firmware, storage }).catch(e => (err = e));
            expect(err).to.be.instanceOf(EspError);
            expect((err as EspError).oneLine()).to.equal("field dac-cert: ESP_ERR_NVS_NOT_FOUND: reading dac-cert from fctry");
            expect(storage.size).to.equal(0);
        });

        it("factory reset erases storage", async () => {
            const storage = new MemoryStorageBackend();
            dev = await startDevice({ factoryData: fd, firmware, storage });
            await dev.factoryReset();
            dev = undefined;
            expect(storage.size).to.equal(0);
        });
    });
});
