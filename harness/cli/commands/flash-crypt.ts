import type { Command } from "commander";

/** `mfgsim flash-crypt`: not implemented yet (see the issues). */
export function register(_program: Command): void {}
