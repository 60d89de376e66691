import type { Command } from "commander";

/** `mfgsim generate`: not implemented yet (see the issues). */
export function register(_program: Command): void {}
