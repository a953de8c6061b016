export { createAccessTokenVerifier } from "./create-access-token-verifier.js";
export {
  grantedScopes,
  type RequireScopesOptions,
  requireScopes,
  type ScopeClaims,
} from "./scopes.js";
export type {
  AccessTokenClaims,
  AccessTokenHeader,
  AccessTokenVerifier,
  AccessTokenVerifierOptions,
  ClaimValidator,
  InsecureHttpPolicy,
  JwksFailureReason,
  JwksFetchTrigger,
  KeyStoreState,
  VerifierAlgorithm,
  VerifierEvent,
  VerifierHealth,
} from "./types.js";
export { SUPPORTED_ALGORITHMS } from "./types.js";
