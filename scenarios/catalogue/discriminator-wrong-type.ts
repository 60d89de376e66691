// nvs.md device rule: a chip-factory key written with another NVS type (a CSV with `discriminator,data,u16,…`)
// reads as ESP_ERR_NVS_TYPE_MISMATCH, not NOT_FOUND.
import { scenario } from "../lib/index.js";

export default scenario("discriminator written as u16 instead of u32: ESP_ERR_NVS_TYPE_MISMATCH", async ({ line, expect }) => {
    const dev = await line.device();
    dev.factory.set("discriminator", Number(dev.factory.get("discriminator")), "u16");
    const boot = await dev.boot({ start: false });
    expect(boot).toFailWith("ESP_ERR_NVS_TYPE_MISMATCH");
    expect(boot.log).toContain("ESP_ERR_NVS_TYPE_MISMATCH reading discriminator from fctry");
});
