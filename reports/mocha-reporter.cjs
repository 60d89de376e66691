// mocha reporter for `npm test`: mocha's dot reporter, then one line per skipped test (its title says why, e.g.
// "golden vectors … not found"), then the plain closing line CI reads ("N passed, N failed, N skipped"), so a
// run that executed no test, or skipped a part, is visible as such.
"use strict";
const Mocha = require("mocha");
const { EVENT_RUN_END, EVENT_TEST_PENDING } = Mocha.Runner.constants;

class MfgsimReporter extends Mocha.reporters.Dot {
    constructor(runner, options) {
        super(runner, options);
        const skipped = [];
        runner.on(EVENT_TEST_PENDING, test => skipped.push(test.fullTitle()));
        runner.once(EVENT_RUN_END, () => {
            const s = this.stats;
            for (const title of skipped) process.stdout.write(`skipped: ${title}\n`);
            process.stdout.write(`mocha: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
        });
    }
}
module.exports = MfgsimReporter;
