import type { Command } from "commander";

/** `mfgsim spake2p`: not implemented yet (see the issues). */
export function register(_program: Command): void {}
