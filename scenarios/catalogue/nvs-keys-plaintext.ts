// esp-idf#9287 — ESP_ERR_NVS_CORRUPT_KEY_PART: with flash encryption on, the nvs_keys partition is read through
// the flash-encryption engine; flashed without `esptool --encrypt` its plaintext keys are "decrypted" into
// garbage whose CRC does not match.
import { scenario } from "../lib/index.js";

export default scenario("esp-idf#9287: nvs_keys flashed without --encrypt on a flash-encrypted chip", { issue: "esp-idf#9287" }, async ({ line, expect }) => {
    const dev = await line.device({ encrypt: true });
    const boot = await dev.boot({ flashEncryption: true, nvsKeysPlaintext: true });
    expect(boot).toFailWith("ESP_ERR_NVS_CORRUPT_KEY_PART");
    expect(boot.log).not.toContain("Commissioning window open");
    // written with --encrypt, the same partitions boot
    expect(await dev.boot({ flashEncryption: true, start: false })).toPass();
});
