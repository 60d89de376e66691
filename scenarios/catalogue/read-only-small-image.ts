// esp-idf#15317 — a trimmed factory image (partition below 0x3000: nvs_partition_gen writes only the used
// pages and marks it read-only) mounted read-write: no free page → ESP_ERR_NVS_NO_FREE_PAGES. Read-only (as
// ESP32FactoryDataProvider mounts it, or with the partition's readonly flag) it works.
import { scenario } from "../lib/index.js";

export default scenario("esp-idf#15317: read-only small NVS image mounted read-write", { issue: "esp-idf#15317" }, async ({ line, expect }) => {
    const dev = await line.device();
    dev.factory.resize(0x2000);
    expect(dev.factory.size).toEqual(0x1000);
    expect(dev.mount({ readOnly: false })).toFailWith("ESP_ERR_NVS_NO_FREE_PAGES");
    expect(dev.mount({ readOnly: true })).toPass();
    expect(await dev.boot({ start: false })).toPass();
});
