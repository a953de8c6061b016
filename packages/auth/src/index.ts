export * from "./errors.js";
export * from "./event-stream/index.js";
export * from "./http.js";
export * from "./token-client/index.js";
export * from "./verifier/index.js";
