/** Matter OTA image files (ota_image_tool.py create/show) and the requestor-side verifier. */
export * from "./digest.js";
export * from "./image.js";
export * from "./create.js";
export * from "./verify.js";
