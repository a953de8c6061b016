export {
  type AuthorizedFetchOptions,
  createAuthorizedFetch,
} from "./authorized-fetch.js";
export {
  type ClientCredentialsClient,
  createClientCredentialsClient,
} from "./client-credentials-client.js";
export type { ClientCredentialsClientOptions } from "./client-options.js";
export type { DPoPOption } from "./dpop-key.js";
export {
  DiscoveryIssuerMismatchError,
  InvalidTokenResponseError,
  TokenClientClosedError,
  TokenClientError,
  type TokenClientErrorCode,
  TokenEndpointError,
  TokenNetworkError,
  TokenRequestTimeoutError,
} from "./errors.js";
export { type MemoryStoreOptions, memoryStore } from "./memory-store.js";
export type {
  AudienceParam,
  ClientAuthMethod,
  RetryOptions,
  StoreKind,
  StoreLock,
  TokenClientEvent,
  TokenClientStats,
  TokenKey,
  TokenRequestOptions,
  TokenSelector,
  TokenSet,
  TokenStore,
} from "./types.js";
