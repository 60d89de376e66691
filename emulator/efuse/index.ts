/** efuse: per-chip eFuse model (one-way burns, protections, espefuse summary JSON) and the security state derived from it. */
export * from "./chips.js";
export * from "./efuse.js";
