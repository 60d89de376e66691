// esp-matter#147 — "Error 45" when the app reads the setup passcode: it is deliberately not in the factory
// partition. The device only holds the SPAKE2+ verifier (w0 ‖ L), salt and iteration count; the passcode is
// only on the label.
import { scenario } from "../lib/index.js";

export default scenario("esp-matter#147: the passcode is not stored on the device, only its SPAKE2+ verifier", { issue: "esp-matter#147" }, async ({ line, expect }) => {
    const dev = await line.device();
    expect(dev.read("passcode")).toFailWith("ESP_ERR_NVS_NOT_FOUND");
    const verifier = dev.read("verifier");
    expect(verifier).toPass();
    expect(Buffer.from(String(verifier.value), "base64").length).toEqual(97);
    expect(dev.read("salt")).toPass();
    expect(dev.read("iteration-count")).toPass();
    expect(dev.scannedPasscode()).toEqual(dev.label.passcode); // the label carries it
    expect(await dev.commission()).toPass(); // and PASE works from the verifier alone
});
