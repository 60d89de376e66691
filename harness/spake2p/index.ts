/** SPAKE2+ for Matter: verifier generation/parsing and the verifier side of the protocol. */
export * from "./verifier.js";
export * from "./protocol.js";
