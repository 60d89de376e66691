#!/usr/bin/env node
// Entry point of `npx mfgsim`: runs the compiled CLI from dist/ (built by `npm ci` through the prepare script)
// for a fast start. Falls back to the TypeScript sources through tsx when there is no build, when a source file
// is newer than the build (an edited checkout: say so once, never run stale code), or when MFGSIM_SOURCE=1.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);
const built = new URL("dist/harness/cli/main.js", root);

/** Newest mtime of the TypeScript sources (a few hundred stats: ~5 ms). */
function newestSource() {
    let newest = 0;
    const walk = dir => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
            const p = `${dir}/${e.name}`;
            if (e.isDirectory()) {
                if (e.name !== "node_modules" && e.name !== "out" && !e.name.startsWith(".")) walk(p);
            } else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) {
                newest = Math.max(newest, statSync(p).mtimeMs);
            }
        }
    };
    for (const top of ["emulator", "harness", "scenarios", "reports"]) {
        const dir = fileURLToPath(new URL(top, root));
        if (existsSync(dir)) walk(dir);
    }
    return newest;
}

let useBuild = existsSync(built) && !process.env.MFGSIM_SOURCE;
if (useBuild && newestSource() > statSync(built).mtimeMs) {
    process.stderr.write("mfgsim: dist/ is older than the sources; running from the sources (npm run build refreshes it)\n");
    useBuild = false;
}
if (useBuild) {
    await import(built.href);
} else {
    const { register } = await import("tsx/esm/api");
    register();
    await import(new URL("./main.ts", import.meta.url).href);
}
