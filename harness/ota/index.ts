/** harness/ota: the OTA provider, the virtual device across reboots, performOta and the gate's `ota` check. */
export * from "./provider.js";
export * from "./ota.js";
export * from "./check.js";
