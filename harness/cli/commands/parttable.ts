import type { Command } from "commander";
import { action } from "../action.js";
import { parseNumber, parseSize } from "../args.js";
import { inFile, readInput, writeFileAtomic } from "../io.js";

/** `mfgsim parttable`: gen_esp32part.py — CSV → binary or binary → CSV, decided by the input's first bytes. */
export function register(program: Command): void {
    program
        .command("parttable")
        .description("convert a partition table CSV ⇄ binary like gen_esp32part.py (input starting with AA 50 is binary)")
        .argument("<input>", "partition CSV or binary table")
        .argument("<output>", "output file: binary when the input is CSV, CSV when the input is binary")
        .option("--offset <addr>", "partition table offset (CONFIG_PARTITION_TABLE_OFFSET)", (s: string) => parseNumber(s, "--offset"), 0x8000)
        .option("--flash-size <size>", "check that the partitions fit (e.g. 4MB, 0x400000)", (s: string) => parseSize(s, "--flash-size"))
        .option("--no-verify", "skip gen_esp32part's table checks")
        .option("--json", "print one JSON document on stdout")
        .addHelpText("after", "\nExample:\n  mfgsim parttable partitions.csv partition-table.bin --offset 0x8000 --flash-size 4MB\n")
        .action(
            action("parttable", async (input: string, output: string, opts: { json?: boolean; offset: number; flashSize?: number; verify: boolean }) => {
                const pt = await import("../../../emulator/esp_partition/index.js");
                const data = await readInput(input, "partition table");
                const { entries, outBytes, direction } = inFile(input, () => {
                    if (pt.looksLikePartitionBinary(data)) {
                        const entries = pt.decodePartitionTable(data, { requireMd5: false, ...(opts.flashSize !== undefined ? { chipSize: opts.flashSize } : {}) }).entries;
                        if (opts.verify) pt.verifyPartitionTable(entries, { offset: opts.offset });
                        if (opts.flashSize !== undefined) pt.verifySizeFits(entries, opts.flashSize);
                        return { entries, outBytes: pt.partitionTableToCsv(entries) as Uint8Array | string, direction: "bin-to-csv" as const };
                    }
                    const entries = pt.parsePartitionCsv(data.toString("utf8"), {
                        offset: opts.offset,
                        verify: opts.verify,
                        ...(opts.flashSize !== undefined ? { flashSize: opts.flashSize } : {}),
                        vars: Object.fromEntries(Object.entries(process.env).filter((kv): kv is [string, string] => kv[1] !== undefined)),
                    });
                    return { entries, outBytes: pt.encodePartitionTable(entries) as Uint8Array | string, direction: "csv-to-bin" as const };
                });
                await writeFileAtomic(output, outBytes);
                const list = entries.map(pt.entryJson);
                const text = [
                    `${direction === "csv-to-bin" ? "wrote binary" : "wrote CSV"} ${output} (${list.length} partitions)`,
                    ...list.map(e => `  ${e.name.padEnd(16)} ${e.type.padEnd(6)} ${e.subtype.padEnd(9)} 0x${e.offset.toString(16).padStart(6, "0")} 0x${e.size.toString(16).padStart(6, "0")} ${e.flags.join(":")}`),
                ].join("\n");
                return { json: { output, direction, entries: list }, text };
            }),
        );
}
