// Certification pre-testing (TC-DA-1.x, device side): a good device passes the checklist; a DAC whose key does
// not match dac-pub-key (a DAC/key mix-up when importing certificates with --dac-cert/--dac-key) fails it.
import { scenario } from "../lib/index.js";

export const certificationPass = scenario("certification checklist: a device from the line passes TC-DA-1.x", async ({ line, expect }) => {
    const dev = await line.device();
    const report = await dev.certify();
    expect(report.items.filter(i => i.status === "fail")).toEqual([]);
    expect(report.log).toContain("TC-DA-1.2/signature");
    expect(report).toPass();
});

export const certificationKeyMismatch = scenario("certification checklist: dac-pub-key that is not the DAC's key", async ({ line, expect }) => {
    const dev = await line.device();
    const other = line.pki.issueDac();
    dev.factory.set("dac-pub-key", other.key.publicKey);
    const report = await dev.certify();
    expect(report).toFailWith("TC-DA-1.1/dac-key");
    expect(report).toContain("DacPublicKeyMismatch");
});
