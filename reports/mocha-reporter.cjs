// mocha reporter for `npm test`: mocha's dot reporter, then the plain closing line CI reads
// ("N passed, N failed, N skipped"), so a run that executed no test is visible as such.
"use strict";
const Mocha = require("mocha");
const { EVENT_RUN_END } = Mocha.Runner.constants;

class MfgsimReporter extends Mocha.reporters.Dot {
    constructor(runner, options) {
        super(runner, options);
        runner.once(EVENT_RUN_END, () => {
            const s = this.stats;
            process.stdout.write(`mocha: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
        });
    }
}
module.exports = MfgsimReporter;
