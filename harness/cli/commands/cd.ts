import type { Command } from "commander";
import { action, table } from "../action.js";
import { inFile, readInput } from "../io.js";

/** `mfgsim cd`: decode Certification Declarations (CMS SignedData around the CD TLV). */
export function register(program: Command): void {
    const group = program.command("cd").description("Matter Certification Declarations (CMS-signed TLV)");
    group.command("inspect")
        .description("print every CD TLV field, the CMS versions, digest/signature algorithms and the signer SKID")
        .argument("<file>", "Certification Declaration (CMS DER, or PEM)")
        .option("--json", "print one JSON document on stdout")
        .addHelpText("after", "\nExample:\n  mfgsim cd inspect Chip-Test-CD-FFF2-8001.der --json\n")
        .action(action("cd inspect", async (file: string, opts: { json?: boolean }) => {
            const { DiagnosticError } = await import("../../../emulator/esp_common/err.js");
            const { parseCertificationDeclaration } = await import("../../pki/cd.js");
            const { pemBlocks } = await import("../../pki/keys.js");
            const { BUILTIN_CD_SIGNERS } = await import("../../pki/trust.js");
            const { hex, hex16: x4, equalBytes } = await import("../../pki/der.js");
            const { OID } = await import("../../pki/x509.js");
            let data: Uint8Array = await readInput(file, "CD");
            const text0 = Buffer.from(data).toString("latin1");
            if (text0.includes("-----BEGIN")) {
                const b = pemBlocks(text0)[0];
                if (!b) throw new DiagnosticError("CHIP_ERROR_INVALID_ARGUMENT", "no PEM block", { file });
                data = b.der;
            }
            const { cms, content: c } = inFile(file, () => parseCertificationDeclaration(data));
            const known = BUILTIN_CD_SIGNERS.find(s => equalBytes(s.skid, cms.signerKeyId));
            const algName = (o: string) => (o === OID.sha256 ? "sha256" : o === OID.ecdsaWithSHA256 ? "ecdsa-with-SHA256" : o);
            const json = {
                file,
                formatVersion: c.formatVersion,
                vendorId: x4(c.vendorId),
                productIds: c.productIds.map(x4),
                deviceTypeId: `0x${c.deviceTypeId.toString(16).toUpperCase().padStart(8, "0")}`,
                certificateId: c.certificateId,
                securityLevel: c.securityLevel,
                securityInformation: c.securityInformation,
                versionNumber: c.versionNumber,
                certificationType: c.certificationType,
                certificationTypeName: ["development and test", "provisional", "official"][c.certificationType] ?? "reserved",
                dacOriginVendorId: c.dacOriginVendorId === undefined ? null : x4(c.dacOriginVendorId),
                dacOriginProductId: c.dacOriginProductId === undefined ? null : x4(c.dacOriginProductId),
                authorizedPaaList: c.authorizedPaaList?.map(s => hex(s)) ?? null,
                unknownTags: c.unknownTags,
                cms: {
                    version: cms.version,
                    digestAlgorithms: cms.digestAlgorithms.map(algName),
                    eContentType: cms.eContentType === OID.pkcs7Data ? "pkcs7-data" : cms.eContentType,
                    signerVersion: cms.signerVersion,
                    signerKeyId: hex(cms.signerKeyId),
                    signer: known ? { name: known.name, kind: known.kind } : null,
                    digestAlgorithm: algName(cms.digestAlgorithm),
                    signatureAlgorithm: algName(cms.signatureAlgorithm),
                    signature: hex(cms.signature),
                },
                contentTlv: hex(cms.content),
            };
            const text = table([
                ["File", file],
                ["format_version", json.formatVersion],
                ["vendor_id", json.vendorId],
                ["product_id_array", json.productIds.join(", ")],
                ["device_type_id", json.deviceTypeId],
                ["certificate_id", json.certificateId],
                ["security_level", json.securityLevel],
                ["security_information", json.securityInformation],
                ["version_number", json.versionNumber],
                ["certification_type", `${json.certificationType} (${json.certificationTypeName})`],
                ["dac_origin_vendor_id", json.dacOriginVendorId],
                ["dac_origin_product_id", json.dacOriginProductId],
                ["authorized_paa_list", json.authorizedPaaList?.join(", ") ?? null],
                ["CMS version", json.cms.version],
                ["digest algorithm", json.cms.digestAlgorithm],
                ["signature algorithm", json.cms.signatureAlgorithm],
                ["signer SKID", `${json.cms.signerKeyId}${known ? ` (${known.name})` : ""}`],
            ]);
            return { json, text };
        }));
}
