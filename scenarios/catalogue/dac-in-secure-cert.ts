// esp-matter#574 — generated with --dac-in-secure-cert, but the firmware still reads the DAC from NVS (no
// CONFIG_SEC_CERT_DAC_PROVIDER): dac-cert is not in chip-factory, so the DAC provider fails and so does the
// commissioner's CertificateChainRequest.
import { scenario } from "../lib/index.js";

export default scenario("esp-matter#574: DAC in the esp_secure_cert partition, firmware reads it from NVS", { issue: "esp-matter#574" }, async ({ line, expect }) => {
    const dev = await line.device({ dacInSecureCert: true });
    expect(dev.read("dac-cert")).toFailWith("ESP_ERR_NVS_NOT_FOUND");
    const boot = await dev.boot({ dacProvider: "nvs" });
    expect(boot).toFailWith("ESP_ERR_NVS_NOT_FOUND");
    expect(boot.log).toContain("ESP_ERR_NVS_NOT_FOUND reading dac-cert from fctry");
    // built with the secure-cert DAC provider, the same flash commissions
    const ok = await dev.commission({ boot: { dacProvider: "secure-cert" } });
    expect(ok).toPass();
});
