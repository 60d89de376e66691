export * from "./causes.js";
export * from "./diagnose.js";
