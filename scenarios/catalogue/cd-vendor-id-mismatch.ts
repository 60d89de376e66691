// esp-matter#185 — attestation error 604: the Certification Declaration's vendor_id is not the VendorID the
// device reports in Basic Information (and its DAC carries): CertificationDeclarationInvalidVendorId.
import { scenario } from "../lib/index.js";

export default scenario("esp-matter#185: VID mismatch between DAC, CD and Basic Information (604)", { issue: "esp-matter#185" }, async ({ line, expect }) => {
    const dev = await line.device();
    dev.replaceCd({ vendorId: 0xfff2 }); // a CD issued for another vendor
    expect(await dev.boot()).toPass(); // the device does not check its own CD's content
    const result = await dev.commission();
    expect(result).toFailWith("CertificationDeclarationInvalidVendorId");
    expect(result).toFailWith(604);
});
