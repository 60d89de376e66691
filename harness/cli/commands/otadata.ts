import type { Command } from "commander";
import { action, table } from "../action.js";
import { intIn } from "../args.js";
import { inFile, readInput } from "../io.js";

/** `mfgsim otadata`: what the bootloader reads from and writes to the otadata partition. */
export function register(program: Command): void {
    const group = program.command("otadata").description("ESP-IDF otadata (esp_ota_select_entry_t) and the bootloader's slot choice");
    group
        .command("inspect")
        .description("decode both otadata sectors and show which slot the bootloader boots and what it writes (bootloader_common_select_otadata)")
        .argument("<otadata>", "otadata partition image (0x2000 bytes)")
        .requiredOption("--ota-slots <n>", "number of OTA app partitions (ota_0..ota_N-1)", intIn(0, 16, "--ota-slots"))
        .option("--rollback", "CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE")
        .option("--anti-rollback", "CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK")
        .option("--factory", "the partition table has a factory app")
        .option("--json", "print one JSON document on stdout")
        .addHelpText("after", "\nAssumes every app image loads; the boot command checks images too.\nExample:\n  mfgsim otadata inspect otadata.bin --ota-slots 2 --rollback --json\n")
        .action(
            action("otadata inspect", async (file: string, opts: { json?: boolean; otaSlots: number; rollback?: boolean; antiRollback?: boolean; factory?: boolean }) => {
                const ota = await import("../../../emulator/app_update/index.js");
                const bytes = await readInput(file, "otadata");
                const decoded = inFile(file, () => ota.decodeOtadata(bytes));
                const sel = inFile(file, () =>
                    ota.selectBootPartition(bytes, {
                        otaSlots: opts.otaSlots,
                        hasFactory: opts.factory ?? false,
                        rollback: opts.rollback ?? false,
                        antiRollback: opts.antiRollback ?? false,
                    }),
                );
                const candidates = ota.bootCandidates(sel.bootIndex, { otaSlots: opts.otaSlots, hasFactory: opts.factory ?? false });
                const loaded = candidates[0];
                const writes = [...sel.writes, ...(loaded !== undefined ? ota.writesAfterLoad(sel, loaded) : [])];
                const sectors = decoded.map(e => ({ seq: e.seq, state: ota.otaStateName(e.state), crcOk: e.crcOk, valid: e.valid }));
                const bootSlot = loaded !== undefined ? ota.indexName(loaded) : null;
                const json = {
                    sectors,
                    bootSlot,
                    activeSector: sel.active,
                    writes: writes.map(w => ({ sector: w.sector, offset: w.offset, seq: w.entry.seq, state: ota.otaStateName(w.entry.state), crc: w.entry.crc, reason: w.reason })),
                    log: sel.log.filter(l => l.level !== "D").map(l => `${l.level} boot: ${l.text}`),
                };
                const text = [
                    ...sectors.map((s, i) => `otadata[${i}]: seq ${s.seq === 0xffffffff ? "0xffffffff" : s.seq} state ${s.state} crc ${s.crcOk ? "ok" : "BAD"}${s.valid ? "" : " (not valid)"}`),
                    table([["boot slot", bootSlot ?? "none (No bootable app partitions)"]]),
                    ...json.log,
                    ...json.writes.map(w => `write otadata[${w.sector}] seq ${w.seq} ${w.state}: ${w.reason}`),
                ].join("\n");
                return { json, text, exitCode: bootSlot === null ? 1 : 0 };
            }),
        );
}
