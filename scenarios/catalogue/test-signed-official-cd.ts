// Matter attestation rules (matter-attestation.md): an *official* CD (certification_type 2) signed by a test
// key is refused even when test keys are accepted — CertificationDeclarationNoCertificateFound (601). Seen when
// a development CD is edited to "official" before a certification submission.
import { scenario } from "../lib/index.js";

export default scenario("test-signed official CD refused (601)", async ({ line, expect }) => {
    const dev = await line.device();
    dev.replaceCd({ certificationType: 2 });
    const result = await dev.commission({ allowTestKeys: true });
    expect(result).toFailWith("CertificationDeclarationNoCertificateFound");
    expect(result).toFailWith(601);
});
