#!/usr/bin/env node
// Entry point of `npx mfgsim`: runs the compiled CLI from dist/ (built by `npm ci` through the prepare
// script) for a fast start; falls back to the TypeScript sources through tsx when there is no build, or
// when MFGSIM_SOURCE=1 (development).
import { existsSync } from "node:fs";

const built = new URL("../../dist/harness/cli/main.js", import.meta.url);
if (existsSync(built) && !process.env.MFGSIM_SOURCE) {
    await import(built.href);
} else {
    const { register } = await import("tsx/esm/api");
    register();
    await import(new URL("./main.ts", import.meta.url).href);
}
