import type * as oauth from "oauth4webapi";
import { type ResolvedRetryOptions, resolveRetry } from "./backoff.js";
import { type ClientAuthOptions, createClientAuth } from "./client-auth.js";
import { createDPoPSigner, type DPoPOption, type DPoPSigner } from "./dpop-key.js";
import { memoryStore } from "./memory-store.js";
import type { AudienceParam, RetryOptions, TokenClientEvent, TokenStore } from "./types.js";

export interface ClientCredentialsClientOptions extends ClientAuthOptions {
  /** The authorization server; its discovery document gives the token endpoint. */
  issuerBaseURL?: string | URL | undefined;
  /** The token endpoint, skipping discovery. One of the two is required. */
  tokenEndpoint?: string | URL | undefined;
  clientId: string;
  /** Default audience (API identifier) of `getToken()`. */
  audience?: string | undefined;
  /** Default scope of `getToken()`, space separated or a list. */
  scope?: string | readonly string[] | undefined;
  /** How the audience is sent. Default `"audience"` (Auth0). */
  audienceParam?: AudienceParam | undefined;
  /** Where tokens are kept. Default `memoryStore()`. Closed by `close()`. */
  store?: TokenStore | undefined;
  /**
   * Sender-constrained tokens (RFC 9449 DPoP): `true` generates a key for this client (ES256,
   * private part not extractable), `{ keyPair }` uses yours. Token requests carry a proof, tokens
   * must come back `token_type: DPoP`, and `fetch` sends `Authorization: DPoP` with a fresh proof
   * per request. Tokens are cached per key: see the README on sharing them through Redis.
   */
  dpop?: DPoPOption | undefined;
  /**
   * How long before expiry a refresh starts, ms. Default 60 000, at most a quarter of the token's
   * lifetime. Each process picks a random point between this and half of it.
   */
  refreshSkew?: number | undefined;
  /** Lifetime assumed when the server omits `expires_in`, in seconds. Default 3 600. */
  defaultExpiresIn?: number | undefined;
  /** Limit of one token or discovery request, ms. Default 10 000. */
  timeout?: number | undefined;
  /** Retry policy for 429, 5xx, network errors and timeouts, or `false` for none. */
  retry?: RetryOptions | false | undefined;
  fetch?: typeof fetch | undefined;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: (() => number) | undefined;
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random?: (() => number) | undefined;
  /**
   * Waits between retries, and while another process refreshes when the store cannot announce
   * changes (no `waitForChange`). Default: a timer.
   */
  sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  /** Receives what happens (requests, retries, refresh failures, store health). Must not throw. */
  onEvent?: ((event: TokenClientEvent) => void) | undefined;
}

/** The options with every default applied and every value checked. */
export interface ResolvedClientOptions {
  readonly clientId: string;
  /** The configured token endpoint or issuer, as given: part of every cache key. */
  readonly endpointId: string;
  readonly issuerBaseURL: string | URL | undefined;
  readonly tokenEndpoint: string | URL | undefined;
  readonly clientAuth: oauth.ClientAuth;
  readonly audience: string | undefined;
  readonly scope: string | readonly string[] | undefined;
  readonly audienceParam: AudienceParam;
  readonly store: TokenStore;
  readonly dpop: DPoPSigner | undefined;
  readonly refreshSkew: number;
  readonly defaultExpiresIn: number;
  readonly timeout: number;
  readonly retry: ResolvedRetryOptions;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly random: () => number;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** `onEvent`, except that a listener that throws cannot break token delivery. */
  readonly emit: (event: TokenClientEvent) => void;
}

/** Checks `options` (a `TypeError` naming the first bad one) and applies the defaults. */
export function resolveClientOptions(
  options: ClientCredentialsClientOptions,
): ResolvedClientOptions {
  if (typeof options.clientId !== "string" || options.clientId.length === 0) {
    throw new TypeError("clientId is required");
  }
  const endpointId = String(options.tokenEndpoint ?? options.issuerBaseURL ?? "");
  if (endpointId === "") throw new TypeError("issuerBaseURL or tokenEndpoint is required");
  for (const name of ["issuerBaseURL", "tokenEndpoint"] as const) {
    const value = options[name];
    if (value !== undefined && !/^https?:$/.test(URL.parse(String(value))?.protocol ?? "")) {
      throw new TypeError(`${name} must be an http(s) URL`);
    }
  }
  const { clientAuth } = createClientAuth(options);
  const now = options.now ?? Date.now;
  const retry = resolveRetry(options.retry);
  return {
    clientId: options.clientId,
    endpointId,
    issuerBaseURL: options.issuerBaseURL,
    tokenEndpoint: options.tokenEndpoint,
    clientAuth,
    audience: options.audience,
    scope: options.scope,
    audienceParam: options.audienceParam ?? "audience",
    timeout: positive(options.timeout ?? 10_000, "timeout"),
    refreshSkew: nonNegative(options.refreshSkew ?? 60_000, "refreshSkew"),
    defaultExpiresIn: positive(options.defaultExpiresIn ?? 3_600, "defaultExpiresIn"),
    retry,
    store: options.store ?? memoryStore({ now }),
    dpop: createDPoPSigner(options.dpop),
    // Called as a plain function: Workers refuse a `fetch` called as a method of another object.
    fetch: (input, init) => (options.fetch ?? globalThis.fetch)(input, init),
    now,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? abortableDelay,
    emit: (event) => {
      try {
        options.onEvent?.(event);
      } catch {
        // a failing listener must not break token delivery
      }
    },
  };
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new TypeError(`${name} must be positive`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new TypeError(`${name} must not be negative`);
  return value;
}
