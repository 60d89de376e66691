export * from "./types.js";
export * from "./registry.js";
export * from "./trust.js";
export * from "./flow.js";
export * from "./commissioner.js";
