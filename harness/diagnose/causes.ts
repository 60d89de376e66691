/** Error names → what usually causes them in the field, with the public issues that show it (factory-data.md). */
export interface KnownCause {
    cause: string;
    issues: string[];
}

export const KNOWN_CAUSES: Readonly<Record<string, KnownCause>> = {
    ESP_ERR_NVS_PART_NOT_FOUND: { cause: "the partition table has no data/nvs partition with the factory label (CONFIG_CHIP_FACTORY_NAMESPACE_PARTITION_LABEL): the factory image was flashed to an address the table does not know", issues: ["esp-matter#443", "esp-matter#1054"] },
    ESP_ERR_NVS_NOT_FOUND: { cause: "a chip-factory key is missing: not generated, flashed at the wrong offset, or NVS encryption on one side only (plaintext image with CONFIG_NVS_ENCRYPTION, or keys that are not the image's)", issues: ["esp-matter#1054", "esp-matter#808", "esp-idf#5747", "esp-idf#14848"] },
    ESP_ERR_NVS_CORRUPT_KEY_PART: { cause: "the nvs_keys partition's CRC does not match: flashed without `esptool --encrypt` on a flash-encrypted chip, or overwritten", issues: ["esp-idf#9287"] },
    ESP_ERR_NVS_KEYS_NOT_INITIALIZED: { cause: "NVS encryption is on but the nvs_keys partition is blank (keys never flashed)", issues: ["esp-idf#9287"] },
    ESP_ERR_NVS_WRONG_ENCRYPTION: { cause: "entries encrypted with other keys than the device's nvs_keys", issues: ["esp-idf#5747"] },
    ESP_ERR_NVS_NO_FREE_PAGES: { cause: "a trimmed read-only image (partition < 0x3000) mounted read-write", issues: ["esp-idf#15317"] },
    ESP_ERR_NVS_NEW_VERSION_FOUND: { cause: "page version byte from a newer NVS format", issues: ["esp-idf#15279"] },
    ESP_ERR_NVS_TYPE_MISMATCH: { cause: "the key was written with another NVS type than the firmware reads (e.g. u16 instead of u32 in a hand-made CSV)", issues: [] },
    ESP_ERR_NOT_FOUND: { cause: "esp_secure_cert partition or entry missing: --dac-in-secure-cert / CONFIG_SEC_CERT_DAC_PROVIDER used on one side only", issues: ["esp-matter#574"] },
    CHIP_ERROR_INVALID_ARGUMENT: { cause: "a factory value out of range or in the wrong format (e.g. mfg-date not YYYYMMDD)", issues: ["esp-matter#1622"] },
    SecurityFinding: { cause: "the setup passcode is stored on the device; only the SPAKE2+ verifier belongs there", issues: ["esp-matter#147"] },
    PaseKeyConfirmationFailed: { cause: "the label's passcode does not match the device's SPAKE2+ verifier (label and partition from different devices, or a wrong --passcode)", issues: [] },
    OnboardingPayloadMismatch: { cause: "the label describes another device (discriminator or VID/PID differ from chip-factory)", issues: [] },
    PaaNotFound: { cause: "the commissioner's trust store has no PAA for the PAI's issuer (test or unregistered PAA)", issues: ["connectedhomeip#29120", "esp-matter#1685"] },
    CertificationDeclarationInvalidVendorId: { cause: "CD vendor_id differs from Basic Information VendorID / the DAC's VID", issues: ["esp-matter#185"] },
    CertificationDeclarationInvalidProductId: { cause: "Basic Information ProductID is not in the CD's product_id_array", issues: ["esp-matter#185"] },
    CertificationDeclarationNoCertificateFound: { cause: "the CD signer is unknown, or an official CD is signed by a test key", issues: [] },
    DacExpired: { cause: "the DAC's notAfter is in the past (short -lt/--lifetime or an old --valid-from)", issues: [] },
    DacSignatureInvalid: { cause: "the PAA→PAI→DAC chain does not validate at the DAC's notBefore (PAI valid in the future, wrong issuer key)", issues: [] },
    DacVendorIdMismatch: { cause: "the DAC's VID differs from vendor-id / the PAI's VID", issues: ["esp-matter#185"] },
    DacProductIdMismatch: { cause: "the DAC's PID differs from product-id", issues: [] },
    ESP_ERR_IMAGE_INVALID: { cause: "no valid app image (or it does not decrypt: flash encryption on with a plaintext flash)", issues: [] },
};

export function knownCause(code: string): KnownCause {
    return KNOWN_CAUSES[code] ?? { cause: "see the message", issues: [] };
}
