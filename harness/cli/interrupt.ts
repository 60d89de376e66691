/**
 * Ctrl-C and SIGTERM (a CI job's timeout) for a long command: the first asks it to stop — `signal` fires and
 * `notice` goes to stderr — so it can finish what is in progress and write its results; a second quits at once
 * (exit 130). `dispose()` removes the handlers once the command is done.
 */
export function onInterrupt(notice: string, onStop?: () => void): { signal: AbortSignal; dispose(): void } {
    const stop = new AbortController();
    const handler = (): void => {
        if (stop.signal.aborted) process.exit(130);
        stop.abort();
        onStop?.();
        process.stderr.write(`${notice}\n`);
    };
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
    return {
        signal: stop.signal,
        dispose: () => {
            process.off("SIGINT", handler);
            process.off("SIGTERM", handler);
        },
    };
}
