import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { CHIPS } from "../../../emulator/efuse/chips.js";
import { action } from "../action.js";
import { chipArg, intIn, parseNumber, parseSize } from "../args.js";
import { inFile, readInput } from "../io.js";

function timeoutArg(v: string): number {
    const n = Number(v);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(v.trim()) || !Number.isFinite(n)) throw new InvalidArgumentError(`--timeout must be a number of seconds, got '${v}'`);
    return n;
}

interface BootOpts {
    json?: boolean;
    efuse?: string;
    port: number;
    chip?: string;
    timeout?: number;
    rollback?: boolean;
    antiRollback?: boolean;
    offset: number;
    flashSize?: number;
    fctryLabel: string;
    dacProvider: "nvs" | "secure-cert";
    nvsKeys?: string;
    app?: string;
    verbose?: boolean;
    flashKey?: string;
}

/** A whole flash image (vs a bare factory NVS partition): big, or a partition table at the table offset. */
function looksLikeFlash(bytes: Uint8Array, tableOffset: number): boolean {
    if (bytes.length >= 0x100000) return true;
    return bytes.length >= tableOffset + 0x20 && bytes[tableOffset] === 0xaa && bytes[tableOffset + 1] === 0x50;
}

/** `mfgsim boot`: the virtual ESP32 boots a flash image (or a bare factory partition) and serves the Matter device. */
export function register(program: Command): void {
    program
        .command("boot")
        .description("boot the virtual ESP32: ESP-IDF-style boot log, then serve the Matter device on 127.0.0.1 until interrupted")
        .argument("<image>", "a full flash image (flash.bin, esptool read_flash dump) or a bare factory NVS partition (partition.bin)")
        .option("--efuse <efuse.json>", "eFuse summary (espefuse summary --format json); default a fresh chip (no encryption, no secure boot)")
        .option("--port <port>", "UDP port on 127.0.0.1 / ::1 (0 = any free port)", intIn(0, 65535, "--port"), 5540)
        .option("--chip <chip>", `${CHIPS.join("|")} (default: from --efuse, else the bootloader header, else esp32c3)`, chipArg)
        .option("--timeout <s>", "serve for this many seconds, then stop; 0 = boot, read the factory data and exit", timeoutArg)
        .option("--flash-key <key.bin>", "flash encryption key (espsecure key file) for an eFuse summary whose key block reads '??'")
        .option("--rollback", "CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE")
        .option("--anti-rollback", "CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK (secure_version vs eFuse SECURE_VERSION)")
        .option("--offset <addr>", "CONFIG_PARTITION_TABLE_OFFSET", v => parseNumber(v, "--offset"), 0x8000)
        .option("--flash-size <size>", "flash chip size (default: the image size, at least 4MB)", v => parseSize(v, "--flash-size"))
        .option("--fctry-label <label>", "CONFIG_CHIP_FACTORY_NAMESPACE_PARTITION_LABEL", "fctry")
        .option("--dac-provider <p>", "nvs | secure-cert (CONFIG_SEC_CERT_DAC_PROVIDER)", v => {
            if (v !== "nvs" && v !== "secure-cert") throw new InvalidArgumentError(`--dac-provider must be nvs or secure-cert, got '${v}'`);
            return v;
        }, "nvs")
        .option("--nvs-keys <keys.bin>", "with a bare partition.bin: its NVS encryption keys partition")
        .option("--app <app.bin>", "with a bare partition.bin: the app image (default a synthetic one)")
        .option("--verbose", "matter.js log (INFO) on stderr while serving")
        .option("--json", "print one JSON document on stdout (the boot result; with --timeout 0 nothing is served)")
        .addHelpText(
            "after",
            "\nA bare partition.bin is booted inside esp-matter's example layout (nvs, nvs_keys, otadata, phy_init, ota_0/ota_1,\n" +
                "fctry at 0x3E0000) with a synthetic app in ota_0. Exit 1 when the boot fails (no bootable app, factory data\n" +
                "unreadable), 2 for unreadable input. SIGINT/SIGTERM stop the device cleanly (exit 0).\n" +
                "Examples:\n  mfgsim boot flash.bin --efuse flash.efuse.json\n  mfgsim boot flash.bin --json --timeout 0\n",
        )
        .action(action("boot", async (input: string, opts: BootOpts) => {
            const esp32 = await import("../../../emulator/esp32/index.js");
            const { buildAppImage } = await import("../../../emulator/bootloader_support/index.js");
            const { parsePartitionCsv } = await import("../../../emulator/esp_partition/index.js");
            const { Efuses } = await import("../../../emulator/efuse/index.js");
            const { DiagnosticError } = await import("../../../emulator/esp_common/err.js");
            const bytes = new Uint8Array(await readInput(input, "flash image"));
            let efuses: InstanceType<typeof Efuses> | undefined;
            if (opts.efuse) {
                const text = (await readInput(opts.efuse, "eFuse summary")).toString("utf8");
                efuses = inFile(opts.efuse, () => Efuses.fromSummaryJson(text, opts.chip && opts.chip !== "esp32" ? (opts.chip as "esp32c3") : undefined));
            }
            if (opts.flashKey) {
                const key = new Uint8Array(await readInput(opts.flashKey, "flash encryption key"));
                if (!efuses) throw new DiagnosticError("ESP_ERR_INVALID_ARG", "--flash-key needs --efuse (the summary says which key block holds it)", { field: "flash-key" });
                const e = efuses;
                inFile(opts.flashKey, () => esp32.provideFlashEncryptionKey(e, key));
            }
            let image: Uint8Array = bytes;
            let built = false;
            if (!looksLikeFlash(bytes, opts.offset)) {
                if (bytes.length === 0 || bytes.length % 0x1000 !== 0) {
                    throw new DiagnosticError("ESP_ERR_INVALID_SIZE", `neither a flash image (no partition table at 0x${opts.offset.toString(16)}) nor an NVS partition (size ${bytes.length} is not a multiple of 4096)`, { file: input });
                }
                const chip = (opts.chip ?? efuses?.chip.name ?? "esp32c3") as "esp32c3";
                const entries = parsePartitionCsv(esp32.ESP_MATTER_PARTITIONS_CSV, { offset: opts.offset });
                const fctry = entries.find(e => e.name === "fctry")!;
                fctry.name = opts.fctryLabel;
                fctry.size = Math.max(fctry.size, bytes.length);
                let flashSize = opts.flashSize ?? 4 * 1024 * 1024;
                while (fctry.offset + fctry.size > flashSize) flashSize *= 2;
                const app = opts.app ? new Uint8Array(await readInput(opts.app, "app image")) : buildAppImage({ chip, version: "1.0", matterSoftwareVersion: 1, projectName: "light" });
                const nvsKeys = opts.nvsKeys ? new Uint8Array(await readInput(opts.nvsKeys, "NVS keys partition")) : undefined;
                const layout = inFile(input, () =>
                    esp32.buildFlashImage({ chip, partitions: entries, app, fctry: bytes, fctryLabel: opts.fctryLabel, flashSize, tableOffset: opts.offset, ...(nvsKeys ? { nvsKeys } : {}), ...(efuses ? { efuses, encrypt: efuses.flashEncryptionEnabled() } : {}) }),
                );
                image = layout.image;
                built = true;
            }
            const chip = inFile(input, () =>
                esp32.VirtualEsp32.fromImage(image, {
                    ...(opts.chip ? { chip: opts.chip as "esp32c3" } : {}),
                    ...(efuses ? { efuses } : {}),
                    ...(opts.flashSize ? { flashSize: opts.flashSize } : {}),
                    tableOffset: opts.offset,
                }),
            );
            const boot = inFile(input, () => esp32.bootChip(chip, { rollback: opts.rollback ?? false, antiRollback: opts.antiRollback ?? false }));
            const serve = opts.timeout !== 0;
            if (boot.ok && serve) {
                // stdout is the ESP console (or the one JSON document): matter.js logs go to stderr
                const { Logger, LogLevel } = await import("@matter/main");
                Logger.destinations.default.write = (text: string) => void process.stderr.write(text.endsWith("\n") ? text : text + "\n");
                Logger.level = process.env.MFGSIM_DEBUG ? LogLevel.DEBUG : opts.verbose ? LogLevel.INFO : LogLevel.ERROR;
            }
            const fw = boot.ok
                ? await esp32.startFirmware(chip, boot, { factoryPartitionLabel: opts.fctryLabel, dacProvider: opts.dacProvider, port: opts.port, startDevice: serve })
                : undefined;
            const log = fw?.log ?? boot.log;
            const ok = boot.ok && fw?.ok === true;
            if (!opts.json) process.stdout.write(log.join("\n") + "\n");
            let served = 0;
            if (ok && fw?.device) {
                const t0 = Date.now();
                await new Promise<void>(resolve => {
                    const done = () => {
                        process.off("SIGINT", done);
                        process.off("SIGTERM", done);
                        if (timer) clearTimeout(timer);
                        resolve();
                    };
                    const timer = opts.timeout !== undefined ? setTimeout(done, opts.timeout * 1000) : undefined;
                    process.once("SIGINT", done);
                    process.once("SIGTERM", done);
                });
                served = (Date.now() - t0) / 1000;
                await fw.device.stop();
                if (!opts.json) process.stderr.write(`mfgsim boot: device stopped after ${served.toFixed(1)} s\n`);
            }
            const error = boot.error ?? fw?.error;
            const json = {
                ok,
                input,
                chip: chip.chip,
                builtAroundPartition: built,
                flashEncryption: chip.flashEncryption,
                secureBoot: chip.efuses.secureBootEnabled(),
                log,
                trace: boot.trace,
                app: boot.app ?? null,
                selection: boot.selection ?? null,
                otadataWrites: boot.otadataWrites,
                efuseWrites: boot.efuseWrites,
                factory: fw
                    ? {
                          partition: fw.factoryPartition ?? null,
                          reads: fw.reads.map(r => ({ key: r.key, source: r.source, ok: r.ok, ...(r.error ? { error: r.error } : {}) })),
                          vendorId: fw.factoryData?.vendorId ?? null,
                          productId: fw.factoryData?.productId ?? null,
                          serialNumber: fw.factoryData?.serialNumber ?? null,
                          discriminator: fw.factoryData?.discriminator ?? null,
                      }
                    : null,
                firmware: fw?.firmware ?? null,
                device: fw?.device ? { host: "127.0.0.1", port: fw.port, servedSeconds: served } : null,
                error: error ?? null,
            };
            if (!ok && !opts.json) process.stderr.write(`mfgsim boot: ${input}: ${error?.code ?? "ESP_FAIL"}: ${error?.message ?? "boot failed"}\n`);
            return { json, text: "", exitCode: ok ? 0 : 1 };
        }));
}
