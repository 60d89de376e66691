// Loads a project module the way `npx mfgsim` runs: the compiled JavaScript from dist/ (built by `npm ci` through
// the prepare script) for a fast start, or the TypeScript sources through tsx when there is no build, when a
// source file is newer than the build (an edited checkout: say so once, never run stale code), or when
// MFGSIM_SOURCE=1. Shared by the CLI entry (mfgsim.mjs) and the generate benchmark, so both measure the same code.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);

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

let decided;

/** Whether modules come from dist/ (decided once per process). */
export function useBuild() {
    if (decided !== undefined) return decided;
    const built = new URL("dist/harness/cli/main.js", root);
    decided = existsSync(built) && !process.env.MFGSIM_SOURCE;
    if (decided && newestSource() > statSync(built).mtimeMs) {
        process.stderr.write("mfgsim: dist/ is older than the sources; running from the sources (npm run build refreshes it)\n");
        decided = false;
    }
    return decided;
}

let tsxRegistered = false;

/** Imports `<rel>.js` from dist/ or `<rel>.ts` from the sources, e.g. importProject("harness/cli/main"). */
export async function importProject(rel) {
    if (useBuild()) return import(new URL(`dist/${rel}.js`, root).href);
    if (!tsxRegistered) {
        const { register } = await import("tsx/esm/api");
        register();
        tsxRegistered = true;
    }
    return import(new URL(`${rel}.ts`, root).href);
}
