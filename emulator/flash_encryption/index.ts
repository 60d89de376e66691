/** flash_encryption: XTS-AES-128/256 and the ESP32 AES-256 scheme, byte-exact with espsecure, plus which regions are encrypted. */
export * from "./cipher.js";
export * from "./regions.js";
