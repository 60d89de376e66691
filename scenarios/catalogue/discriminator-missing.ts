// esp-matter#1054 — "discriminator not found": the first key ESP32FactoryDataProvider reads is missing, either
// because the partition lacks it or because the factory image was flashed at the wrong offset (the `fctry`
// partition is blank, the data sits elsewhere in flash).
import { scenario } from "../lib/index.js";

export default scenario("esp-matter#1054: discriminator not found (key missing, or fctry flashed at the wrong offset)", { issue: "esp-matter#1054" }, async ({ line, expect }) => {
    const dev = await line.device();
    dev.factory.delete("discriminator");
    const boot = await dev.boot();
    expect(boot).toFailWith("ESP_ERR_NVS_NOT_FOUND");
    expect(boot.log).toContain("ESP_ERR_NVS_NOT_FOUND reading discriminator from fctry");

    const again = await line.device(); // a fresh copy of the same device
    const shifted = await again.boot({ factoryAt: 0x3f0000 }); // `esptool write_flash 0x3F0000 partition.bin`
    expect(shifted).toFailWith("ESP_ERR_NVS_NOT_FOUND");
    expect(shifted).toContain("reading discriminator from fctry");
});
