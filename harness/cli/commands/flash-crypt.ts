import type { Command } from "commander";
import { DiagnosticError } from "../../../emulator/esp_common/err.js";
import { action } from "../action.js";
import { intIn, parseNumber } from "../args.js";
import { readInput, writeFileAtomic } from "../io.js";

type Opts = { json?: boolean; keyfile: string; address: number; aesXts?: boolean; flashCryptConf: number };

/** `mfgsim flash-crypt encrypt|decrypt`: espsecure encrypt_flash_data / decrypt_flash_data. */
export function register(program: Command): void {
    const group = program.command("flash-crypt").description("flash encryption like espsecure encrypt-flash-data / decrypt-flash-data");
    for (const op of ["encrypt", "decrypt"] as const) {
        group
            .command(op)
            .description(
                op === "encrypt"
                    ? "encrypt plaintext as it is stored in flash at --address (ESP32 AES-256 scheme, or XTS-AES with --aes-xts)"
                    : "decrypt bytes read from flash at --address (ESP32 AES-256 scheme, or XTS-AES with --aes-xts)",
            )
            .argument("<input>", op === "encrypt" ? "plaintext file" : "encrypted flash contents")
            .argument("<output>", "output file")
            .requiredOption("--keyfile <file>", "raw key file (ESP32: 24/32 B; XTS: 16/32 B = XTS-AES-128, 64 B = XTS-AES-256)")
            .requiredOption("--address <addr>", "flash address of the first byte (multiple of 16)", (s: string) => parseNumber(s, "--address"))
            .option("--aes-xts", "XTS-AES (ESP32-S2/S3/C3/C6/H2…) instead of the original ESP32 scheme")
            .option("--flash-crypt-conf <n>", "ESP32 FLASH_CRYPT_CONFIG eFuse value", intIn(0, 0xf, "--flash-crypt-conf"), 0xf)
            .option("--json", "print one JSON document on stdout")
            .addHelpText("after", `\nExample:\n  mfgsim flash-crypt ${op} --aes-xts --keyfile key.bin --address 0x10000 ${op === "encrypt" ? "app.bin app-enc.bin" : "app-enc.bin app.bin"}\n`)
            .action(
                action(`flash-crypt ${op}`, async (input: string, output: string, opts: Opts) => {
                    const fe = await import("../../../emulator/flash_encryption/index.js");
                    const key = await readInput(opts.keyfile, "key file");
                    const data = await readInput(input, op === "encrypt" ? "plaintext" : "ciphertext");
                    let out: Uint8Array;
                    try {
                        const o = { aesXts: opts.aesXts ?? false, flashCryptConf: opts.flashCryptConf };
                        out = op === "encrypt" ? fe.encryptFlashData(key, opts.address, data, o) : fe.decryptFlashData(key, opts.address, data, o);
                    } catch (e) {
                        throw e instanceof DiagnosticError ? e.withContext(e.context.field === "keyfile" ? { file: opts.keyfile } : { file: input }) : e;
                    } finally {
                        key.fill(0);
                    }
                    await writeFileAtomic(output, out);
                    const scheme = opts.aesXts ? (key.length === 64 ? "xts-aes-256" : "xts-aes-128") : "esp32-aes256";
                    return {
                        json: { output, address: opts.address, length: out.length, scheme },
                        text: `${op}ed ${out.length} bytes at 0x${opts.address.toString(16)} (${opts.aesXts ? "XTS-AES" : "ESP32 AES-256"}) → ${output}`,
                    };
                }),
            );
    }
}
