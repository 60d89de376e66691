import type { Command } from "commander";

/** `mfgsim cert`: not implemented yet (see the issues). */
export function register(_program: Command): void {}
