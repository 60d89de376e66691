import { expect } from "chai";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildAppImage } from "../../../emulator/bootloader_support/index.js";
import { createTestFactoryData, createTestPki } from "../../../emulator/device/testing.js";
import { factoryPartition } from "../../../emulator/esp32/testing.js";
import { runCli } from "../testing.js";

const CSV = `# esp-matter style
nvs,      data, nvs,     0x10000,  0xC000,
otadata,  data, ota,     ,         0x2000
phy_init, data, phy,     ,         0x1000,
ota_0,    app,  ota_0,   0x20000,  0x1E0000,
ota_1,    app,  ota_1,   0x200000, 0x1E0000,
fctry,    data, nvs,     0x3E0000, 0x6000
`;

describe("mfgsim flash build / boot (CLI)", function () {
    this.timeout(60000);
    let dir: string;

    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "mfgsim-boot-"));
        const { factoryData } = await createTestFactoryData(await createTestPki(), { serialNumber: "CLI-0001" });
        await writeFile(join(dir, "fctry.bin"), factoryPartition(factoryData));
        await writeFile(join(dir, "app.bin"), buildAppImage({ chip: "esp32c3", version: "3.1", matterSoftwareVersion: 31 }));
        await writeFile(join(dir, "partitions.csv"), CSV);
    });
    after(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    it("flash build --encrypt writes the image and a 0600 eFuse JSON; boot --json --timeout 0 boots it", async () => {
        const build = await runCli(["flash", "build", "--partitions", "partitions.csv", "--app", "app.bin", "--fctry", "fctry.bin", "--encrypt", "-o", "out/flash.bin", "--json"], { cwd: dir });
        expect(build.code, build.stderr).to.equal(0);
        const doc = JSON.parse(build.stdout);
        expect(doc.output).to.equal("out/flash.bin");
        expect(doc.efuse).to.equal("out/flash.efuse.json");
        expect(doc.partitions.map((p: { name: string; offset: number; encrypted: boolean }) => [p.name, p.offset, p.encrypted])).to.deep.equal([
            ["bootloader", 0x0, true],
            ["partition-table", 0x8000, true],
            ["ota_0", 0x20000, true],
            ["fctry", 0x3e0000, false],
        ]);
        expect((await stat(join(dir, "out/flash.bin"))).size).to.equal(4 * 1024 * 1024);
        expect((await stat(join(dir, "out/flash.efuse.json"))).mode & 0o777).to.equal(0o600);

        const boot = await runCli(["boot", "out/flash.bin", "--efuse", "out/flash.efuse.json", "--json", "--timeout", "0"], { cwd: dir });
        expect(boot.code, boot.stderr).to.equal(0);
        const r = JSON.parse(boot.stdout);
        expect(r.ok).to.equal(true);
        expect(r.flashEncryption).to.equal(true);
        expect(r.app.partition).to.deep.equal({ label: "ota_0", type: 0, subtype: "ota_0", offset: 0x20000, size: 0x1e0000 });
        expect(r.firmware).to.deep.equal({ softwareVersion: 31, softwareVersionString: "3.1" });
        expect(r.factory.serialNumber).to.equal("CLI-0001");
        expect(r.device).to.equal(null);
        expect(r.log.some((l: string) => /^I \(\d+\) boot: Loaded app from partition at offset 0x20000$/.test(l))).to.equal(true);
        expect(r.trace.map((t: { step: string }) => t.step)).to.include.members(["partition-table", "otadata", "image", "select"]);
    });

    it("boot exits 1 with one stderr line when nothing is bootable, 2 for an unreadable input", async () => {
        const build = await runCli(["flash", "build", "--partitions", "partitions.csv", "--fctry", "fctry.bin", "-o", "noapp.bin"], { cwd: dir });
        expect(build.code, build.stderr).to.equal(0);
        const r = await runCli(["boot", "noapp.bin", "--timeout", "0"], { cwd: dir });
        expect(r.code).to.equal(1);
        expect(r.stdout).to.match(/E \(\d+\) boot: No bootable app partitions in the partition table/);
        expect(r.stderr.trim().split("\n")).to.have.length(1);
        expect(r.stderr).to.match(/ESP_ERR_NOT_FOUND/);

        const missing = await runCli(["boot", "nope.bin", "--json"], { cwd: dir });
        expect(missing.code).to.equal(2);
        expect(missing.stdout).to.equal("");
        expect(missing.stderr.trim().split("\n")).to.have.length(1);
        expect(missing.stderr).to.match(/nope\.bin.*no such file/);
    });

    it("flash build refuses a factory partition with no 'fctry' row (exit 2, no output left behind)", async () => {
        await writeFile(join(dir, "nofctry.csv"), CSV.replace(/^fctry.*$/m, ""));
        const r = await runCli(["flash", "build", "--partitions", "nofctry.csv", "--fctry", "fctry.bin", "-o", "bad/flash.bin"], { cwd: dir });
        expect(r.code).to.equal(2);
        expect(r.stderr.trim().split("\n")).to.have.length(1);
        expect(r.stderr).to.match(/ESP_ERR_NVS_PART_NOT_FOUND.*fctry/);
        expect(r.stderr).to.not.match(/\bat .*\.ts:\d+/);
        const left = await readdir(join(dir, "bad")).catch(() => []);
        expect(left).to.deep.equal([]);
    });
});
