import type { TokenClientError } from "./errors.js";
import type { TokenFailure } from "./token-failure.js";

export type { TokenFailure };

/** An access token with what the client knows about it. Times are epoch milliseconds. */
export interface TokenSet {
  readonly accessToken: string;
  /** `"DPoP"` for a client with a DPoP key, `"Bearer"` otherwise; other token types are rejected. */
  readonly tokenType: "Bearer" | "DPoP";
  /** When the token expires, from `expires_in` counted from the moment the request was sent. */
  readonly expiresAt: number;
  /** When the request that produced the token was sent. */
  readonly issuedAt: number;
  /** The granted scope (space separated) when the server said, otherwise the requested one. */
  readonly scope: string | undefined;
}

/** Which token to get. Omitted fields fall back to the client's defaults. */
export interface TokenRequestOptions {
  audience?: string | undefined;
  scope?: string | readonly string[] | undefined;
  /** Ignore cached tokens and get a new one (callers asking at the same time share it). */
  forceRefresh?: boolean | undefined;
}

/** Which cached token to look at or drop. */
export interface TokenSelector {
  audience?: string | undefined;
  scope?: string | readonly string[] | undefined;
}

export type ClientAuthMethod = "client_secret_post" | "client_secret_basic" | "private_key_jwt";

/** Where the audience goes in the request: Auth0's `audience`, RFC 8707 `resource`, or both. */
export type AudienceParam = "audience" | "resource" | "both";

/** Retry policy for 429, 5xx, network errors and timeouts. Others are never retried. */
export interface RetryOptions {
  /** Attempts in total, the first included. Default 4. */
  maxAttempts?: number;
  /** Upper bound of the first backoff window, ms. Default 250. Doubles on each attempt. */
  baseDelay?: number;
  /** Cap of one backoff window, ms. Default 5 000. */
  maxDelay?: number;
  /** No retry is started when it would end later than this after the first attempt, ms. Default 30 000. */
  maxElapsed?: number;
}

/** The audience and scope a token is cached under. */
export interface TokenKey {
  readonly audience: string | undefined;
  readonly scope: string | undefined;
}

/** Everything the client reports through `onEvent`. Never carries a token or secret. */
export type TokenClientEvent =
  | { type: "token_request"; key: TokenKey; attempt: number }
  | { type: "token_received"; key: TokenKey; expiresAt: number; attempt: number }
  | {
      type: "token_request_failed";
      key: TokenKey;
      attempt: number;
      error: TokenClientError;
      /** Delay before the next attempt, ms; undefined when no retry follows. */
      retryIn: number | undefined;
    }
  /** A refresh ahead of expiry failed; the still-valid cached token keeps being served. */
  | { type: "refresh_failed"; key: TokenKey; error: unknown; expiresAt: number }
  /** The shared store is unreachable; tokens are kept in process memory until it returns. */
  | { type: "store_degraded"; store: StoreKind; error: unknown }
  | { type: "store_recovered"; store: StoreKind };

export type StoreKind = "memory" | "redis";

/** Counters for dashboards (`/status`), since the client was created. */
export interface TokenClientStats {
  /** POSTs sent to the token endpoint, retries included. */
  readonly tokenRequests: number;
  /** Token requests that failed (a failed discovery counts as one). */
  readonly tokenRequestFailures: number;
  /** Calls answered from the process cache without waiting. */
  readonly cacheHits: number;
  /** Calls that had to wait for a token (from the store, another process or the endpoint). */
  readonly cacheMisses: number;
  readonly store: StoreKind;
  /** True while a Redis store is unreachable and tokens are kept in process memory. */
  readonly storeDegraded: boolean;
  /** Requests sent with a DPoP proof, token and resource requests (0 without `dpop`). */
  readonly dpopProofs: number;
  /** Requests sent once more because a server answered `use_dpop_nonce` with a new nonce. */
  readonly dpopNonceRetries: number;
}

/** A held cross-process lock. */
export interface StoreLock {
  /** Keep holding it for `ttl` ms from now. */
  extend(ttl: number): Promise<void>;
  release(): Promise<void>;
}

/**
 * Where tokens are kept. `memoryStore()` and `redisStore()` implement it; a custom store may too.
 * Keys are opaque strings derived from (token endpoint, client, audience, scope, and the DPoP key's
 * thumbprint when the client has one).
 */
export interface TokenStore {
  readonly kind: StoreKind;
  get(key: string): Promise<TokenSet | undefined>;
  /** Keep `tokenSet` for `ttl` ms. */
  set(key: string, tokenSet: TokenSet, ttl: number): Promise<void>;
  /** Drop the token under `key`; when `accessToken` is given, only if it is that token. */
  delete(key: string, accessToken?: string): Promise<void>;
  /** Take the refresh lock for `key` for `ttl` ms, or `undefined` when someone else holds it. */
  lock(key: string, ttl: number): Promise<StoreLock | undefined>;
  /**
   * The last failed token request for `key`, kept for `ttl` ms so that callers waiting in other
   * processes get the same error and nobody asks again before the server's `Retry-After`.
   */
  getFailure(key: string): Promise<TokenFailure | undefined>;
  setFailure(key: string, failure: TokenFailure, ttl: number): Promise<void>;
  /**
   * Resolves when what is stored under `key` may have changed: a token or failure stored or the
   * lock released (by any process sharing the store), the lock expired, or a store-specific
   * interval passed; at once when `signal` aborts. The client calls it after losing the race for
   * the lock, then reads `key` again. A store without it is polled.
   */
  waitForChange?(key: string, signal: AbortSignal): Promise<void>;
  /** True while the store serves from a fallback (Redis unreachable). */
  readonly degraded: boolean;
  /** Called by the client with its `onEvent`, so degradation is reported there. */
  listen?(listener: (event: TokenClientEvent) => void): void;
  close(): Promise<void>;
}
