// The factory partition was generated with -e (NVS-encrypted) and flashed, but its <uuid>-keys-partition.bin was
// not: the nvs_keys partition on the chip is blank. A CONFIG_NVS_ENCRYPTION build finds it uninitialised
// (ESP_ERR_NVS_KEYS_NOT_INITIALIZED), generates its own keys at first boot (nvs_flash_generate_keys) and decrypts
// the factory entries with them: every entry fails its CRC, so every read is ESP_ERR_NVS_NOT_FOUND. `mfgsim gate`
// names the cause before any chip is flashed (nvs.mount: ESP_ERR_NVS_KEYS_NOT_INITIALIZED).
import { scenario } from "../lib/index.js";

export default scenario("encrypted factory NVS flashed without its nvs_keys partition", { issue: ["esp-idf#5747", "esp-idf#12584"] }, async ({ line, expect }) => {
    const dev = await line.device({ encrypt: true });
    expect(dev.read("discriminator")).toPass();
    dev.withoutNvsKeys();
    expect(dev.read("discriminator")).toFailWith("ESP_ERR_NVS_NOT_FOUND");
    const boot = await dev.boot({ nvsEncryption: true });
    expect(boot).toFailWith("ESP_ERR_NVS_NOT_FOUND");
    expect(boot.log).toContain("chip[DL]: NVS key partition empty"); // the firmware generated keys of its own
    expect(boot.log).toContain("ESP_ERR_NVS_NOT_FOUND reading discriminator from fctry");
    expect(boot.log).not.toContain("Commissioning window open");
});
