// esp-matter#443 — the factory image was flashed at an address the partition table does not know: the table
// the firmware was built with has no `fctry` partition (the image went to 0x3E0000 anyway), so
// nvs_flash_init_partition("fctry") fails with ESP_ERR_NVS_PART_NOT_FOUND (0x0500110F) and the commissioning
// window never opens.
import { scenario } from "../lib/index.js";
import { ESP_MATTER_PARTITIONS_CSV } from "../../emulator/esp32/index.js";

/** esp-matter's partition table without the fctry row (the default table of a project that forgot it). */
const NO_FCTRY = ESP_MATTER_PARTITIONS_CSV.replace(/^fctry,.*\n/m, "");

export default scenario("esp-matter#443: factory image flashed at an offset the partition table does not have", { issue: "esp-matter#443" }, async ({ line, expect }) => {
    const dev = await line.device();
    const boot = await dev.boot({ partitions: NO_FCTRY, factoryAt: 0x3e0000 });
    expect(boot).toFailWith("ESP_ERR_NVS_PART_NOT_FOUND");
    expect(boot.log).toContain("commissioning window not opened");
    expect(boot.log).not.toContain("Commissioning window open");
    const commissioning = await dev.commission({ boot: { partitions: NO_FCTRY, factoryAt: 0x3e0000 } });
    expect(commissioning).toFailWith("ESP_ERR_NVS_PART_NOT_FOUND");
});
