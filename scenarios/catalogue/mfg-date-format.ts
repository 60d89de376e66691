// esp-matter#1622 — mfg-date format conflict: mfg_tool documents YYYY-MM-DD but writes YYYYMMDD. What does the
// device do with each? ESP32FactoryDataProvider strips '-', so a dashed date is reported as YYYYMMDD in Basic
// Information; anything else is not a Matter ManufacturingDate and the firmware refuses the factory data.
import { scenario } from "../lib/index.js";

export default scenario("esp-matter#1622: mfg-date YYYY-MM-DD vs YYYYMMDD — what the device reports or refuses", { issue: "esp-matter#1622" }, async ({ line, expect }) => {
    const dev = await line.device();
    expect(dev.factory.get("mfg-date")).toEqual("20261125"); // what generate writes for --mfg-date 2026-11-25

    dev.factory.set("mfg-date", "2026-11-25"); // a hand-made CSV with the documented format
    const result = await dev.commission();
    expect(result).toPass();
    expect(result.basicInformation?.manufacturingDate).toEqual("20261125");
    await dev.stop();

    dev.factory.set("mfg-date", "25.11.2026");
    const refused = await dev.boot({ start: false });
    expect(refused).toFailWith("CHIP_ERROR_INVALID_ARGUMENT");
    expect(refused.log).toContain("is not YYYYMMDD");
});
