import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { rm } from "node:fs/promises";
import { CHIPS } from "../../../emulator/efuse/chips.js";
import { action } from "../action.js";
import { chipArg, parseNumber, parseSize } from "../args.js";
import { inFile, readInput, writeFileAtomic, writePrivateFile } from "../io.js";

function flashSizeArg(v: string): number {
    const n = parseSize(v, "--flash-size");
    if (![1, 2, 4, 8, 16].map(m => m * 1024 * 1024).includes(n) && !(n >= 2 * 1024 * 1024 && n <= 16 * 1024 * 1024 && n % 0x1000 === 0)) {
        throw new InvalidArgumentError(`--flash-size must be 2MB..16MB, got '${v}'`);
    }
    return n;
}

/** The eFuse file written beside a flash image: flash.bin → flash.efuse.json. */
export function efuseFileBeside(output: string): string {
    return output.replace(/\.bin$/i, "") + ".efuse.json";
}

interface BuildOpts {
    json?: boolean;
    partitions: string;
    app?: string;
    fctry?: string;
    fctryLabel: string;
    nvsKeys?: string;
    efuse?: string;
    encrypt?: boolean;
    secureCert?: string;
    bootloader?: string;
    chip?: string;
    flashSize: number;
    offset: number;
    output: string;
}

/** `mfgsim flash`: whole flash images (idf.py flash / esptool write_flash layout). */
export function register(program: Command): void {
    const group = program.command("flash").description("whole ESP32 flash images laid out like idf.py flash / esptool write_flash");

    group.command("build")
        .description("assemble a full flash image: bootloader, partition table, app, factory NVS, nvs_keys, esp_secure_cert (optionally flash-encrypted)")
        .requiredOption("--partitions <csv>", "partition table (gen_esp32part CSV or binary)")
        .option("--app <image>", "app image for the factory slot (else ota_0)")
        .option("--fctry <nvs.bin>", "factory NVS partition (esp-matter-mfg-tool <uuid>-partition.bin)")
        .option("--fctry-label <label>", "label of the factory partition (CONFIG_CHIP_FACTORY_NAMESPACE_PARTITION_LABEL)", "fctry")
        .option("--nvs-keys <keys.bin>", "NVS encryption keys partition (written to the data/nvs_keys partition)")
        .option("--secure-cert <bin>", "esp_secure_cert partition (written to the type 0x3F partition)")
        .option("--bootloader <bin>", "2nd-stage bootloader image (default: a synthetic one)")
        .option("--efuse <efuse.json>", "eFuse summary (espefuse summary --format json): chip and flash encryption key")
        .option("--encrypt", "encrypt the regions flash encryption covers; without a key in --efuse a key is generated and an eFuse JSON (mode 0600) is written beside the output")
        .option("--chip <chip>", `${CHIPS.join("|")} (default: from --efuse, else the app image, else esp32c3)`, chipArg)
        .option("--flash-size <size>", "flash chip size (2MB..16MB)", flashSizeArg, 4 * 1024 * 1024)
        .option("--offset <addr>", "partition table offset (CONFIG_PARTITION_TABLE_OFFSET)", v => parseNumber(v, "--offset"), 0x8000)
        .requiredOption("-o, --output <flash.bin>", "output flash image")
        .option("--json", "print one JSON document on stdout")
        .addHelpText(
            "after",
            "\nLayout: bootloader at 0x1000 (esp32) or 0x0 (C3/S3/C6/H2), partition table at --offset, app in factory/ota_0,\n" +
                "--fctry into the partition labelled --fctry-label, --nvs-keys into data/nvs_keys, --secure-cert into type 0x3F.\n" +
                "Example:\n  mfgsim flash build --partitions partitions.csv --app app.bin --fctry out/fff1_8000/<uuid>/<uuid>-partition.bin -o flash.bin\n",
        )
        .action(action("flash build", async (opts: BuildOpts) => {
            const { buildFlashImage, chipByImageId } = await import("../../../emulator/esp32/index.js");
            const { Efuses } = await import("../../../emulator/efuse/index.js");
            const { decodePartitionTable, looksLikePartitionBinary } = await import("../../../emulator/esp_partition/index.js");
            const tableBytes = await readInput(opts.partitions, "partition table");
            const partitions = looksLikePartitionBinary(tableBytes)
                ? inFile(opts.partitions, () => decodePartitionTable(new Uint8Array(tableBytes), { chipSize: opts.flashSize }).entries)
                : tableBytes.toString("utf8");
            const app = opts.app ? new Uint8Array(await readInput(opts.app, "app image")) : undefined;
            let efuses: InstanceType<typeof Efuses> | undefined;
            if (opts.efuse) {
                const text = (await readInput(opts.efuse, "eFuse summary")).toString("utf8");
                efuses = inFile(opts.efuse, () => Efuses.fromSummaryJson(text, opts.chip && opts.chip !== "esp32" ? (opts.chip as "esp32c3") : undefined));
            }
            const chip = (opts.chip ?? efuses?.chip.name ?? (app && app[0] === 0xe9 ? chipByImageId(app[12]! | (app[13]! << 8)) : undefined) ?? "esp32c3") as "esp32c3";
            const read = async (f: string | undefined, what: string) => (f ? new Uint8Array(await readInput(f, what)) : undefined);
            const fctry = await read(opts.fctry, "factory NVS partition");
            const nvsKeys = await read(opts.nvsKeys, "NVS keys partition");
            const secureCert = await read(opts.secureCert, "esp_secure_cert partition");
            const bootloader = await read(opts.bootloader, "bootloader image");
            const result = inFile(opts.partitions, () =>
                buildFlashImage({
                    chip,
                    partitions,
                    flashSize: opts.flashSize,
                    tableOffset: opts.offset,
                    fctryLabel: opts.fctryLabel,
                    encrypt: opts.encrypt ?? false,
                    ...(app ? { app } : {}),
                    ...(fctry ? { fctry } : {}),
                    ...(nvsKeys ? { nvsKeys } : {}),
                    ...(secureCert ? { secureCert } : {}),
                    ...(bootloader ? { bootloader } : {}),
                    ...(efuses ? { efuses } : {}),
                }),
            );
            let efuseOut: string | undefined;
            if (result.efuses && (result.generatedKey || result.enabledEncryption)) {
                efuseOut = efuseFileBeside(opts.output);
                // the key block is read-protected on the chip; the file keeps its bytes (`raw`) so `boot` can decrypt: 0600
                await writePrivateFile(efuseOut, JSON.stringify(result.efuses.toSummaryJson({ includeProtected: true }), null, 2) + "\n");
            }
            try {
                await writeFileAtomic(opts.output, result.image);
            } catch (e) {
                if (efuseOut) await rm(efuseOut, { force: true });
                throw e;
            }
            const written = result.written.map(w => ({ name: w.name, offset: w.offset, size: w.size, length: w.length, source: w.source, encrypted: w.encrypted }));
            const hex = (n: number) => `0x${n.toString(16)}`;
            const lines = [
                `${opts.output}: ${result.image.length / (1024 * 1024)}MB flash image for ${chip}`,
                ...written.map(w => `  ${hex(w.offset).padStart(9)}  ${w.name.padEnd(16)} ${String(w.length).padStart(8)} bytes${w.encrypted ? "  (encrypted)" : ""}`),
                ...(result.generatedKey ? [`generated a flash encryption key and burned it into the eFuses: ${efuseOut} (mode 0600, holds the key)`] : []),
                ...(!result.generatedKey && efuseOut ? [`flash encryption enabled in the eFuses: ${efuseOut} (mode 0600)`] : []),
                ...result.warnings.map(w => `warning: ${w}`),
            ];
            return {
                json: {
                    output: opts.output,
                    chip,
                    flashSize: result.image.length,
                    partitions: written,
                    encrypted: opts.encrypt ?? false,
                    efuse: efuseOut ?? null,
                    generatedKey: result.generatedKey,
                    warnings: result.warnings,
                },
                text: lines.join("\n"),
            };
        }));
}
