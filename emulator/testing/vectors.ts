/**
 * Test support: where the golden vectors made by the reference tools live (../shared/vectors beside the repo
 * root). CI always has them; a fresh clone may not, and then the golden tests skip with a one-line reason.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const VECTORS_ROOT = process.env.MFGSIM_VECTORS ?? resolve(REPO_ROOT, "../shared/vectors");

/** Absolute path of a vectors sub-folder or file, or undefined when the vectors are not there. */
export function vectorPath(...parts: string[]): string | undefined {
    const p = join(VECTORS_ROOT, ...parts);
    return existsSync(p) ? p : undefined;
}

export function readVector(...parts: string[]): Buffer {
    const p = vectorPath(...parts);
    if (p === undefined) throw new Error(`vector ${parts.join("/")} not found under ${VECTORS_ROOT}`);
    return readFileSync(p);
}

/**
 * `describe` for tests that need golden vectors: when `sub` is absent, registers one pending test whose title
 * is the reason, so the skip shows in the report instead of passing silently.
 */
export function describeWithVectors(title: string, sub: string, body: (dir: string) => void): void {
    const dir = vectorPath(sub);
    if (dir === undefined) {
        describe(title, () => {
            it.skip(`skipped: golden vectors ${join(VECTORS_ROOT, sub)} not found (CI has ../shared/vectors)`);
        });
        return;
    }
    describe(title, () => body(dir));
}
