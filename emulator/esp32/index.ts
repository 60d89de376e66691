/**
 * esp32: the virtual chip — flash + eFuses + flash encryption (chip.ts), the 2nd-stage bootloader's decisions
 * (bootloader.ts) with an ESP-IDF console (boot_log.ts), flash images laid out like esptool (flash_layout.ts),
 * and the Matter app started from the factory data (firmware.ts, loads matter.js lazily).
 */
export * from "./chip.js";
export * from "./boot_log.js";
export * from "./bootloader.js";
export * from "./flash_layout.js";
export * from "./firmware.js";
