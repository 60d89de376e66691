// connectedhomeip#29120, esp-matter#1685 — "Unable to find PAA" (101): the commissioner's trust store does not
// hold the PAA the device's PAI was issued by (a test/vendor PAA the phone's ecosystem never heard of).
import { scenario } from "../lib/index.js";

export default scenario("connectedhomeip#29120: PAA not in the commissioner's trust store (101)", { issue: ["connectedhomeip#29120", "esp-matter#1685"] }, async ({ line, expect }) => {
    const dev = await line.device();
    const result = await dev.commission({ trust: "empty" });
    expect(result).toFailWith("PaaNotFound");
    expect(result).toFailWith(101);
    expect(result.steps.find(s => s.name === "pase")?.status).toEqual("ok"); // the passcode was right
});
