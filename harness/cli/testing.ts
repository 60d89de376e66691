/** Test support: runs the CLI from the TypeScript sources in a child process, as a user would. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
// Absolute, so a test may run the CLI with a cwd outside the repo.
const TSX = import.meta.resolve("tsx");

export interface CliRun {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs `mfgsim ...args` (sources through tsx) and collects its output and exit code. */
export function runCli(
    args: string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; /** Polled every 20 ms with the output so far: true → one SIGINT (a user's Ctrl-C), or `interruptSignal`. */ interruptWhen?: (stdout: string, stderr: string) => boolean; interruptSignal?: NodeJS.Signals } = {},
): Promise<CliRun> {
    return new Promise((resolvePromise, reject) => {
        const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], {
            cwd: options.cwd,
            env: { ...process.env, ...options.env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", d => (stdout += d));
        child.stderr.on("data", d => (stderr += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
        const poll = options.interruptWhen
            ? setInterval(() => {
                  if (!options.interruptWhen!(stdout, stderr)) return;
                  clearInterval(poll);
                  child.kill(options.interruptSignal ?? "SIGINT");
              }, 20)
            : undefined;
        child.on("error", reject);
        child.on("close", code => {
            clearTimeout(timer);
            clearInterval(poll);
            resolvePromise({ code, stdout, stderr });
        });
    });
}

/** What `run` throws or rejects with, or undefined when it completes (tests then assert on the error itself). */
export async function errorOf(run: () => unknown): Promise<unknown> {
    try {
        await run();
        return undefined;
    } catch (e) {
        return e;
    }
}
