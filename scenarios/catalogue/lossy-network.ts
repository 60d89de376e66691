// Commissioning over a bad network. Field reports of "commissioning works on the bench, times out in the
// customer's home" (e.g. connectedhomeip#23387-style Wi-Fi loss) come down to lost, duplicated and reordered
// datagrams: Matter's MRP must retransmit and de-duplicate through PASE, CASE and the reads. The faults are on
// the device's side of the loopback path and replay exactly from the run's seed.
import { scenario } from "../lib/index.js";

export default scenario("lossy network: 15% of the device's datagrams lost, 10% duplicated, 0–30 ms jitter — MRP still commissions", async ({ line, expect }) => {
    const dev = await line.device();
    const network = { drop: 0.15, duplicate: 0.1, delayMs: [0, 30] as [number, number] };
    await dev.boot({ network });
    const result = await dev.commission();
    expect(result).toPass();
    expect(result.basicInformation?.vendorId).toEqual(Number(dev.factory.get("vendor-id")));
    // the faults really happened (deterministic from the seed, so this is stable)
    expect((network as { stats?: { dropped: number } }).stats!.dropped > 0).toEqual(true);
});
