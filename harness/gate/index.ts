export * from "./discover.js";
export * from "./gate.js";
export * from "./run.js";
