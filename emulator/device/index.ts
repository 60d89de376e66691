export * from "./factory-data.js";
export * from "./storage.js";
export * from "./network.js";
export * from "./environment.js";
export * from "./device.js";
