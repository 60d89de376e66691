/**
 * How every command reports: a command's action returns a `CommandResult` (a JSON document and its human
 * text), and `action()` prints exactly one of them and sets the exit code (cli.md: 0 success, 1 a check
 * failed, 2 bad usage or unreadable input). A DiagnosticError becomes one line on stderr, never a stack trace.
 */
import { DiagnosticError } from "../../emulator/esp_common/err.js";
import { fsDiagnostic } from "./io.js";

export interface CommandResult {
    /** The one JSON document printed with --json. */
    json: unknown;
    /** Human output, printed without --json. */
    text: string;
    /** 0 (default), 1 when a check ran and failed, 130 when the user interrupted it (Ctrl-C) and it stopped cleanly. */
    exitCode?: 0 | 1 | 130;
}

export interface GlobalOptions {
    /** true: print the JSON document on stdout. A string (gate/run `--json F`): the document goes to that file instead. */
    json?: boolean | string;
}

/** The program name used as the prefix of error lines, set by main.ts. */
export const programName = "mfgsim";

/**
 * Wraps a command implementation for commander: the last two commander arguments are the options object and
 * the Command; everything before them are the positional arguments.
 */
export function action<A extends unknown[], O extends GlobalOptions>(
    commandPath: string,
    impl: (...args: [...A, O]) => Promise<CommandResult>,
): (...args: unknown[]) => Promise<void> {
    return async (...raw: unknown[]) => {
        const opts = raw[raw.length - 2] as O;
        const positional = raw.slice(0, -2) as A;
        try {
            const result = await impl(...positional, opts);
            if (opts.json === true) process.stdout.write(JSON.stringify(result.json, null, 2) + "\n");
            else if (result.text) process.stdout.write(result.text.endsWith("\n") ? result.text : result.text + "\n");
            process.exitCode = result.exitCode ?? 0;
        } catch (e) {
            reportError(commandPath, e);
        }
    };
}

export function reportError(commandPath: string, e: unknown): void {
    if (e instanceof DiagnosticError) {
        process.stderr.write(`${programName} ${commandPath}: ${e.oneLine()}\n`);
        process.exitCode = e.exitCode;
        return;
    }
    // a path the user gave that cannot be used (a file where a directory is needed, no permission, disk full)
    const fs = fsDiagnostic(e);
    if (fs) {
        process.stderr.write(`${programName} ${commandPath}: ${fs.oneLine()}\n`);
        process.exitCode = fs.exitCode;
        return;
    }
    // A bug in mfgsim, not bad input: still one line, with the stack only when asked for.
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`${programName} ${commandPath}: internal error: ${err.message.split("\n")[0]}\n`);
    if (process.env.MFGSIM_DEBUG) process.stderr.write(`${err.stack}\n`);
    else process.stderr.write(`${programName}: set MFGSIM_DEBUG=1 for details\n`);
    process.exitCode = 2;
}

/** Formats a two-column table for human output. */
export function table(rows: Array<[string, string | number | boolean | null | undefined]>): string {
    const width = Math.max(0, ...rows.map(([k]) => k.length));
    return rows.map(([k, v]) => `${k.padEnd(width)}  ${v ?? "-"}`).join("\n");
}
