export { createAccessTokenVerifier } from "./create-access-token-verifier.js";
export {
  grantedScopes,
  type RequireScopesOptions,
  requireScopes,
  type ScopeClaims,
  type ScopeSource,
} from "./scopes.js";
export type {
  AccessTokenClaims,
  AccessTokenHeader,
  AccessTokenVerifier,
  AccessTokenVerifierOptions,
  ClaimValidator,
  InsecureHttpPolicy,
  JwkRejectionReason,
  JwksFailureReason,
  JwksFetchTrigger,
  KeyStoreState,
  VerifierAlgorithm,
  VerifierEvent,
  VerifierHealth,
} from "./types.js";
export { SUPPORTED_ALGORITHMS } from "./types.js";
