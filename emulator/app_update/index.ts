/** app_update: otadata (esp_ota_select_entry_t) and the bootloader's / esp_ota_ops' slot decisions, incl. rollback and anti-rollback. */
export * from "./otadata.js";
export * from "./select.js";
