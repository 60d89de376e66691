// A label printed with another device's passcode (label/partition mix-up on the line): the verifier on the
// device does not match, PASE fails at key confirmation.
import { scenario } from "../lib/index.js";

export default scenario("wrong passcode on the label: PASE key confirmation fails", async ({ line, expect }) => {
    const dev = await line.device();
    const right = dev.label.passcode!;
    dev.relabel({ passcode: right === 20202021 ? 20202022 : 20202021 });
    const result = await dev.commission();
    expect(result).toFailWith("PaseKeyConfirmationFailed");
    expect(result.steps.find(s => s.name === "attestation")?.status ?? "skipped").toEqual("skipped");
});
