// esp-idf#5747, esp-idf#14848, esp-idf#12584 — host-generated encrypted NVS unreadable on the device: the
// nvs_keys partition on the chip is not the one the image was encrypted with (keys regenerated, or the device
// generated its own at first boot). Every entry decrypts to garbage, fails its CRC and is skipped, so every
// read is ESP_ERR_NVS_NOT_FOUND.
import { scenario } from "../lib/index.js";

export default scenario("esp-idf#5747: NVS keys regenerated after the factory image was encrypted", { issue: ["esp-idf#5747", "esp-idf#14848", "esp-idf#12584"] }, async ({ line, expect }) => {
    const dev = await line.device({ encrypt: true });
    expect(dev.read("discriminator")).toPass();
    dev.regenerateNvsKeys();
    expect(dev.read("discriminator")).toFailWith("ESP_ERR_NVS_NOT_FOUND");
    const boot = await dev.boot();
    expect(boot).toFailWith("ESP_ERR_NVS_NOT_FOUND");
    expect(boot.log).toContain("ESP_ERR_NVS_NOT_FOUND reading discriminator from fctry");
});
