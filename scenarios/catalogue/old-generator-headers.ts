// esp-idf#15279 — generators before 0.1.7 wrote FULL/ACTIVE headers on empty pages. The device accepts such
// images: the pages have valid headers and no entries.
import { scenario } from "../lib/index.js";

export default scenario("esp-idf#15279: old generator's page headers on unused pages are accepted", { issue: "esp-idf#15279" }, async ({ line, expect }) => {
    const dev = await line.device();
    dev.factory.markUnusedPages("FULL");
    expect(dev.mount()).toPass();
    expect(dev.mount({ readOnly: false })).toPass(); // the reserved last page stays free
    expect(await dev.commission()).toPass();
});
