// An expired DAC (short -lt/--lifetime, or a batch made with an old --valid-from): the commissioner checks the
// DAC against its clock — DacExpired (300).
import { scenario } from "../lib/index.js";

export default scenario("expired DAC refused by the commissioner (300)", async ({ line, expect }) => {
    const dev = await line.device();
    dev.reissueDac({ notBefore: new Date("2024-01-01T00:00:00Z"), notAfter: new Date("2025-01-01T00:00:00Z") });
    line.setClock(new Date("2026-11-25T12:00:00Z"));
    const result = await dev.commission();
    expect(result).toFailWith("DacExpired");
    expect(result).toFailWith(300);
});
