/**
 * The `mfgsim` command line. A thin layer: each command group lives in ./commands/<group>.ts, declares its
 * flags with commander and loads its library lazily inside the action, so `mfgsim --help` stays fast.
 */
import { Command, CommanderError } from "commander";
import { registerAll } from "./commands/index.js";
import { programName } from "./action.js";

export function buildProgram(): Command {
    const program = new Command(programName)
        .description("A virtual production line for Matter devices on ESP32")
        .version(process.env.npm_package_version ?? "0.1.0")
        .showHelpAfterError("(add --help for usage)")
        .enablePositionalOptions();
    registerAll(program);
    const exitOverride = (cmd: Command) => {
        cmd.exitOverride();
        cmd.commands.forEach(exitOverride);
    };
    exitOverride(program);
    return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
    // `mfgsim … | head`: a closed pipe ends the output quietly, like any Unix tool
    for (const stream of [process.stdout, process.stderr]) {
        stream.on("error", (e: NodeJS.ErrnoException) => {
            if (e.code === "EPIPE") process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
            throw e;
        });
    }
    const program = buildProgram();
    try {
        await program.parseAsync(argv);
    } catch (e) {
        if (e instanceof CommanderError) {
            // commander already printed its one-line message; bad usage is exit 2 (cli.md)
            const ok = e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help";
            process.exitCode = ok ? 0 : 2;
            return;
        }
        throw e;
    }
}

await main();
