export { claimsFor } from "./access-token-claims.js";
export { type CheckedProof, checkProof, ProofError } from "./dpop-proof.js";
export {
  athOf,
  type ProofSpec,
  publicMembers,
  signProof,
  thumbprintOf,
} from "./dpop-proof-signer.js";
export { freePort } from "./free-port.js";
export { createFullPipe } from "./full-pipe.js";
export {
  JWKS_SERVER_PATHS,
  type JwksBehaviour,
  type JwksServer,
  startJwksServer,
} from "./jwks-server.js";
export {
  findPostgresBin,
  type PrivatePostgres,
  type PrivatePostgresOptions,
  startPrivatePostgres,
} from "./private-postgres.js";
export { type PrivateRedis, type PrivateRedisOptions, startPrivateRedis } from "./private-redis.js";
export { b64url, signBytes, signToken, type TokenParts } from "./sign-token.js";
export { generateTestKey, type TestKey, type TestKeySpec } from "./test-key.js";
export { type WaitOptions, waitFor } from "./wait-for.js";
