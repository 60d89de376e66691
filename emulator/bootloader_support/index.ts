/** bootloader_support: app images (esp_app_format.h, esp_image_format.c) and Secure Boot V2. */
export * from "./app_format.js";
export * from "./chips.js";
export {
    alignUp, assembleImage, type AppImage, buildAppImage, type BuildAppImageOptions, type ImageInfo, imageInfo, type ImageSegment,
    padFF, parseAppImage, type ParseOptions, SIXTEEN_MB,
} from "./image_format.js";
export * from "./image_verify.js";
export {
    type BlockCheck, checkSignatureSector, keyDigest, keyMaterial, loadSigningKey, parseSignatureBlock, parseSignatureSector,
    type PublicKeyInfo, publicKeyInfo, SECTOR_SIZE, type SecureBootTrust, SIG_BLOCK_MAX_COUNT, SIG_BLOCK_SIZE, type SignatureBlock,
    type SignatureCheck, signatureBlockFor, signatureBlockProblem, type SignatureScheme, signImage, type SigningKey, type SignOptions,
    verifyBlockSignature,
} from "./secure_boot_v2.js";
export { sha256 } from "./image_format.js";
