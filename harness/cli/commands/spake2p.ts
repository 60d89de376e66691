import type { Command } from "commander";
import { action, table } from "../action.js";
import { parseNumber } from "../args.js";

async function decodeBase64(value: string, field: string): Promise<Uint8Array> {
    const { DiagnosticError } = await import("../../../emulator/esp_common/err.js");
    const v = value.trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
        throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", `${field} must be base64, got '${value}'`, { field });
    }
    return new Uint8Array(Buffer.from(v, "base64"));
}

interface Params {
    json?: boolean;
    pinCode: number;
    salt: string;
    iterationCount: number;
}

export function register(program: Command): void {
    const group = program.command("spake2p").description("SPAKE2+ verifiers (connectedhomeip spake2p tool)");

    group
        .command("gen-verifier")
        .description("compute the SPAKE2+ verifier w0 ‖ L (97 bytes, base64) for a passcode, salt and iteration count")
        .requiredOption("-p, --pin-code <n>", "setup passcode 1..99999998, not a trivial one", s => parseNumber(s, "--pin-code"))
        .requiredOption("-s, --salt <base64>", "salt, 16..32 bytes, base64")
        .requiredOption("-i, --iteration-count <n>", "PBKDF2 iterations 1000..100000", s => parseNumber(s, "--iteration-count"))
        .option("--json", "print one JSON document on stdout")
        .action(
            action("spake2p gen-verifier", async (opts: Params) => {
                const { generateVerifierAsync } = await import("../../spake2p/verifier.js");
                const salt = await decodeBase64(opts.salt, "salt");
                const v = await generateVerifierAsync(opts.pinCode, salt, opts.iterationCount);
                const verifier = Buffer.from(v.verifier).toString("base64");
                const json = { verifier, salt: Buffer.from(salt).toString("base64"), iterationCount: opts.iterationCount };
                return { json, text: verifier };
            }),
        );

    group
        .command("verify")
        .description("check that a verifier belongs to a passcode, salt and iteration count (exit 1 if not)")
        .requiredOption("-p, --pin-code <n>", "setup passcode", s => parseNumber(s, "--pin-code"))
        .requiredOption("-s, --salt <base64>", "salt, 16..32 bytes, base64")
        .requiredOption("-i, --iteration-count <n>", "PBKDF2 iterations 1000..100000", s => parseNumber(s, "--iteration-count"))
        .requiredOption("-v, --verifier <base64>", "the 97-byte verifier, base64")
        .option("--json", "print one JSON document on stdout")
        .action(
            action("spake2p verify", async (opts: Params & { verifier: string }) => {
                const { verifyPasscodeAgainstVerifierAsync } = await import("../../spake2p/verifier.js");
                const salt = await decodeBase64(opts.salt, "salt");
                const verifier = await decodeBase64(opts.verifier, "verifier");
                const valid = await verifyPasscodeAgainstVerifierAsync(opts.pinCode, salt, opts.iterationCount, verifier);
                const reason = valid ? null : "the verifier is well-formed but belongs to another passcode, salt or iteration count";
                return {
                    json: { valid, reason },
                    text: table([["valid", valid], ...(reason ? ([["reason", reason]] as Array<[string, string]>) : [])]),
                    exitCode: valid ? 0 : 1,
                };
            }),
        );
}
