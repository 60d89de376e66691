/** Writes a result as JSON / JUnit / HTML files (each atomically: temp + rename). */
import { writeFileAtomic } from "../harness/cli/io.js";
import { toHtml } from "./html.js";
import { toJUnit } from "./junit.js";
import type { RunResult } from "./result.js";

export interface ReportTargets {
    json?: string;
    junit?: string;
    html?: string;
}

export async function writeReports(result: RunResult, targets: ReportTargets, title?: string): Promise<string[]> {
    const written: string[] = [];
    if (targets.json) {
        await writeFileAtomic(targets.json, JSON.stringify(result, null, 2) + "\n");
        written.push(targets.json);
    }
    if (targets.junit) {
        await writeFileAtomic(targets.junit, toJUnit(result, title));
        written.push(targets.junit);
    }
    if (targets.html) {
        await writeFileAtomic(targets.html, toHtml(result, title));
        written.push(targets.html);
    }
    return written;
}
