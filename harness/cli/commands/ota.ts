import type { Command } from "commander";

/** `mfgsim ota`: not implemented yet (see the issues). */
export function register(_program: Command): void {}
