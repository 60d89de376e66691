// A PAI whose validity starts after the DAC's notBefore (PAI re-issued with the current date, DACs kept): the
// chain is evaluated at the DAC's notBefore, where the PAI is not yet valid — DacSignatureInvalid (301).
import { scenario } from "../lib/index.js";

export default scenario("PAI valid in the future at the DAC's notBefore (301)", async ({ line, expect }) => {
    const dev = await line.device();
    const pai = dev.issuePai({ notBefore: new Date("2030-01-01T00:00:00Z") });
    dev.reissueDac({ pai, notBefore: new Date("2024-01-01T00:00:00Z") });
    const result = await dev.commission();
    expect(result).toFailWith("DacSignatureInvalid");
    expect(result).toFailWith(301);
});
