import type { Command } from "commander";

/** `mfgsim otadata`: not implemented yet (see the issues). */
export function register(_program: Command): void {}
