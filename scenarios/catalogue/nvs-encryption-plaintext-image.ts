// esp-matter#808 — every factory read fails with ESP_ERR_NVS_NOT_FOUND: the firmware is built with
// CONFIG_NVS_ENCRYPTION but the factory partition was generated without -e (plaintext). At first boot the app
// generates nvs_keys, then decrypts the plaintext entries with them: every entry fails its CRC and is skipped.
import { scenario } from "../lib/index.js";

export default scenario("esp-matter#808: NVS encryption on the device, plaintext image flashed", { issue: "esp-matter#808" }, async ({ line, expect }) => {
    const dev = await line.device({ encrypt: false }); // one device from a seeded batch (generate)
    const boot = await dev.boot({ nvsEncryption: true }); // the firmware expects encrypted NVS
    expect(boot).toFailWith("ESP_ERR_NVS_NOT_FOUND");
    expect(boot.log).toContain("chip[DL]: NVS key partition empty"); // first boot: the app generates nvs_keys
    expect(boot).toContain("reading discriminator from fctry"); // the first mandatory key
    expect(boot.log).toContain("ESP_ERR_NVS_NOT_FOUND reading discriminator from fctry"); // …and every other one
    expect(boot.log).not.toContain("Commissioning window open");
    // the same image on a firmware without NVS encryption boots
    expect(await dev.boot({ nvsEncryption: false })).toPass();
});
