/**
 * Every catalogue scenario is a regression test: it must reproduce its field failure (its assertions name the
 * error the field saw). One production line (one seeded batch per device spec, one commissioner) is shared.
 */
import { expect } from "chai";
import { fileURLToPath } from "node:url";
import { findScenarioFiles, LineResources, loadScenarios, runScenario, type Scenario } from "./lib/index.js";

const SEED = "catalogue";
const dir = fileURLToPath(new URL("./catalogue", import.meta.url));

const files = findScenarioFiles([dir]);
const loaded: Array<{ file: string; scenarios: Scenario[] }> = await Promise.all(files.map(async file => ({ file, scenarios: await loadScenarios(file) })));

describe("scenario catalogue (each reproduces a field failure)", function () {
    this.timeout(60_000);
    const resources = new LineResources({ iterationCount: 1000 });
    after(() => resources.close());

    it("has the field failures of factory-data.md", () => {
        const titles = loaded.flatMap(l => l.scenarios.map(s => s.title)).join("\n");
        for (const issue of ["esp-matter#443", "esp-matter#1054", "esp-matter#808", "esp-matter#574", "esp-matter#185", "esp-matter#1622", "esp-matter#147", "esp-idf#9287", "esp-idf#5747", "esp-idf#15279", "esp-idf#15317", "connectedhomeip#29120"]) {
            expect(titles, issue).to.contain(issue);
        }
    });

    for (const { file, scenarios } of loaded) {
        for (const s of scenarios) {
            const test = s.options.pending !== undefined ? it.skip : it;
            test(`${s.title}`, async () => {
                const run = await runScenario(s, { resources, seed: SEED });
                const failed = run.checks.filter(c => c.status === "fail");
                expect(failed, `${file}: ${run.failure}\nreplay: npx mfgsim run ${file} --seed ${SEED}`).to.deep.equal([]);
                expect(run.status).to.equal("pass");
                expect(run.checks.some(c => c.name.startsWith("expect ")), "a scenario must assert something").to.equal(true);
            });
        }
    }
});
