export { createAccessTokenVerifier } from "./create-access-token-verifier.js";
export type { DpopNonceOptions } from "./dpop-nonce.js";
export {
  type DpopReplayStore,
  type MemoryReplayStoreOptions,
  memoryReplayStore,
} from "./dpop-replay-store.js";
export { DEFAULT_DPOP_ALGORITHMS } from "./request-authenticator.js";
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
  AuthenticatableRequest,
  AuthenticatedClaims,
  ClaimValidator,
  DpopBinding,
  DpopVerifierOptions,
  InsecureHttpPolicy,
  JwkRejectionReason,
  JwksFailureReason,
  JwksFetchTrigger,
  KeyStoreState,
  RequestHeaders,
  VerifierAlgorithm,
  VerifierEvent,
  VerifierHealth,
} from "./types.js";
export { SUPPORTED_ALGORITHMS } from "./types.js";
