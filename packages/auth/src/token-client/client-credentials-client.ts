import { createHash } from "node:crypto";
import * as oauth from "oauth4webapi";
import { issuerMatches } from "../issuer-matches.js";
import { backoffDelay, resolveRetry } from "./backoff.js";
import { type ClientAuthOptions, createClientAuth } from "./client-auth.js";
import {
  DiscoveryIssuerMismatchError,
  InvalidTokenResponseError,
  TokenClientClosedError,
  TokenClientError,
  TokenEndpointError,
} from "./errors.js";
import { memoryStore } from "./memory-store.js";
import { fromTokenFailure, toTokenFailure } from "./token-failure.js";
import { guardTransport, requestToken, type TokenEndpointContext } from "./token-request.js";
import type {
  AudienceParam,
  RetryOptions,
  StoreLock,
  TokenClientEvent,
  TokenClientStats,
  TokenKey,
  TokenRequestOptions,
  TokenSelector,
  TokenSet,
  TokenStore,
} from "./types.js";

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

export interface ClientCredentialsClient {
  /** An access token for the audience and scope (defaults from the options). */
  getToken(options?: TokenRequestOptions): Promise<string>;
  /** Like `getToken`, with the token's expiry, issue time and scope. */
  getTokenSet(options?: TokenRequestOptions): Promise<TokenSet>;
  /** The cached, unexpired token set, if any. Never requests a token. */
  peekTokenSet(selector?: TokenSelector): Promise<TokenSet | undefined>;
  /**
   * Drops a cached token, here and in the shared store, so the next call gets a new one. With
   * `accessToken`, only when the cached token is that one (a newer token is kept).
   */
  invalidate(selector?: TokenSelector & { accessToken?: string | undefined }): Promise<void>;
  /** Counters for dashboards. */
  stats(): TokenClientStats;
  /** Stops serving tokens, aborts pending requests and closes the store. */
  close(): Promise<void>;
}

interface Target {
  readonly key: string;
  readonly tokenKey: TokenKey;
}

/** What a token found in the store must satisfy to be used instead of requesting one. */
interface Wanted {
  readonly issuedSince: number;
  /** The token being replaced, never accepted back. */
  readonly replacing: string | undefined;
}

interface Entry {
  readonly tokenSet: TokenSet;
  /** When this process starts a refresh (jittered). */
  readonly refreshAt: number;
  /** No background refresh before this (set after one failed). */
  retryAt: number;
}

const LOCK_MARGIN = 2_000;
/** How long a failure without Retry-After is answered to later callers, ms. */
const FAILURE_HOLD = 1_000;
const FIRST_POLL = 10;
const MAX_POLL = 200;

/**
 * Gets OAuth 2.0 client-credentials access tokens and keeps them: one request per
 * (audience, scope) at a time however many callers ask, refresh ahead of expiry, stale-while-failing,
 * bounded retries that honour `Retry-After`, and an optional store shared by many processes.
 *
 * @example
 * ```ts
 * const tokens = createClientCredentialsClient({
 *   issuerBaseURL: "https://tenant.eu.auth0.com/",
 *   clientId: process.env.CLIENT_ID,
 *   clientSecret: process.env.CLIENT_SECRET,
 *   audience: "https://api.example.com",
 * });
 * const accessToken = await tokens.getToken();
 * ```
 */
export function createClientCredentialsClient(
  options: ClientCredentialsClientOptions,
): ClientCredentialsClient {
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
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableDelay;
  const emit = (event: TokenClientEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // a failing listener must not break token delivery
    }
  };
  const retry = resolveRetry(options.retry);
  const timeout = positive(options.timeout ?? 10_000, "timeout");
  const refreshSkew = nonNegative(options.refreshSkew ?? 60_000, "refreshSkew");
  const defaultExpiresIn = positive(options.defaultExpiresIn ?? 3_600, "defaultExpiresIn");
  const audienceParam = options.audienceParam ?? "audience";
  const store = options.store ?? memoryStore({ now });
  store.listen?.(emit);
  const baseFetch = options.fetch ?? globalThis.fetch;
  const closing = new AbortController();

  const counters = { tokenRequests: 0, tokenRequestFailures: 0, cacheHits: 0, cacheMisses: 0 };
  const local = new Map<string, Entry>();
  const flights = new Map<string, Promise<TokenSet>>();
  // Per cache key, the last token `invalidate` dropped. A load that read it from the store just
  // before the drop reached it must neither hand it out again nor cache it back.
  const rejected = new Map<string, string>();

  const countingFetch: typeof fetch = async (input, init) => {
    if (init?.method === "POST") counters.tokenRequests++;
    return baseFetch(input, init);
  };

  const client: oauth.Client = { client_id: options.clientId };
  let server: Promise<oauth.AuthorizationServer> | undefined;
  const authorizationServer = () => {
    server ??= resolveServer(options, countingFetch, timeout).catch((err: unknown) => {
      server = undefined;
      throw err;
    });
    return server;
  };

  const target = (selector: TokenSelector = {}): Target => {
    const audience = selector.audience ?? options.audience;
    const scope = normalizeScope(selector.scope ?? options.scope);
    const key = createHash("sha256")
      .update(JSON.stringify([endpointId, options.clientId, audience ?? null, scope ?? null]))
      .digest("base64url");
    return { key, tokenKey: { audience, scope } };
  };

  const skewFor = (tokenSet: TokenSet) =>
    Math.min(refreshSkew, (tokenSet.expiresAt - tokenSet.issuedAt) / 4);

  const remember = (t: Target, tokenSet: TokenSet): TokenSet => {
    if (rejected.get(t.key) === tokenSet.accessToken) return tokenSet;
    const skew = skewFor(tokenSet);
    const refreshAt = tokenSet.expiresAt - skew + (random() * skew) / 2;
    local.set(t.key, { tokenSet, refreshAt, retryAt: 0 });
    return tokenSet;
  };

  // A token another caller or process obtained that is good enough to use instead of requesting.
  const acceptable = (tokenSet: TokenSet | undefined, want: Wanted): tokenSet is TokenSet =>
    tokenSet !== undefined &&
    tokenSet.accessToken !== want.replacing &&
    tokenSet.issuedAt >= want.issuedSince &&
    now() < tokenSet.expiresAt - skewFor(tokenSet);

  const requestWithRetry = async (t: Target, lock: StoreLock): Promise<TokenSet> => {
    const started = now();
    const parameters = tokenParameters(t.tokenKey, audienceParam);
    for (let attempt = 1; ; attempt++) {
      if (closing.signal.aborted) throw new TokenClientClosedError();
      emit({ type: "token_request", key: t.tokenKey, attempt });
      try {
        const ctx: TokenEndpointContext = {
          as: await authorizationServer(),
          client,
          clientAuth,
          fetch: countingFetch,
          now,
          timeout,
          defaultExpiresIn,
          signal: closing.signal,
        };
        const tokenSet = await requestToken(ctx, new URLSearchParams(parameters), t.tokenKey.scope);
        emit({ type: "token_received", key: t.tokenKey, expiresAt: tokenSet.expiresAt, attempt });
        return tokenSet;
      } catch (err) {
        if (closing.signal.aborted) throw new TokenClientClosedError();
        if (!(err instanceof TokenClientError)) throw err;
        counters.tokenRequestFailures++;
        const retryIn = nextDelay(err, attempt, started);
        emit({ type: "token_request_failed", key: t.tokenKey, attempt, error: err, retryIn });
        if (retryIn === undefined || closing.signal.aborted) throw err;
        await lock.extend(retryIn + timeout + LOCK_MARGIN);
        await sleep(retryIn, closing.signal);
      }
    }
  };

  const nextDelay = (
    err: TokenClientError,
    attempt: number,
    started: number,
  ): number | undefined => {
    if (!err.retryable || attempt >= retry.maxAttempts) return undefined;
    const hinted = err instanceof TokenEndpointError ? err.retryAfter : undefined;
    const delay = hinted ?? backoffDelay(attempt, retry, random);
    return now() - started + delay <= retry.maxElapsed ? delay : undefined;
  };

  // Cross-process single flight: the lock holder requests, the others wait for its token.
  const refresh = async (t: Target, want: Wanted): Promise<TokenSet> => {
    // A recent failure (here or in another process) is answered again until it lapses, so that
    // a fleet honours one Retry-After instead of each instance asking in turn. Any failure found
    // from here on was stored later, by the request this call waited for: it is recognised by
    // being there, not by its time, which comes from another process's clock.
    const recent = await store.getFailure(t.key);
    if (recent) throw fromTokenFailure(recent);
    let poll = FIRST_POLL;
    for (;;) {
      if (closing.signal.aborted) throw new TokenClientClosedError();
      const lock = await store.lock(t.key, timeout + LOCK_MARGIN);
      if (lock) {
        try {
          const stored = await store.get(t.key);
          if (acceptable(stored, want)) return remember(t, stored);
          const failure = await store.getFailure(t.key);
          if (failure) throw fromTokenFailure(failure);
          const tokenSet = await requestWithRetry(t, lock).catch(async (err: unknown) => {
            if (err instanceof TokenClientError && !(err instanceof TokenClientClosedError)) {
              const hold = (err instanceof TokenEndpointError && err.retryAfter) || FAILURE_HOLD;
              await store.setFailure(t.key, toTokenFailure(err, now()), hold);
            }
            throw err;
          });
          await store.set(t.key, tokenSet, tokenSet.expiresAt - now() - skewFor(tokenSet));
          return remember(t, tokenSet);
        } finally {
          await lock.release();
        }
      }
      if (store.waitForChange) {
        await store.waitForChange(t.key, closing.signal);
      } else {
        await sleep(poll, closing.signal);
        poll = Math.min(poll * 2, MAX_POLL);
      }
      const stored = await store.get(t.key);
      if (acceptable(stored, want)) return remember(t, stored);
      const failure = await store.getFailure(t.key);
      if (failure) throw fromTokenFailure(failure);
    }
  };

  const load = async (t: Target, want: Wanted | undefined): Promise<TokenSet> => {
    const replacing = rejected.get(t.key);
    if (want === undefined) {
      const stored = await store.get(t.key);
      if (stored && stored.accessToken !== replacing && now() < stored.expiresAt) {
        return remember(t, stored);
      }
    }
    return refresh(t, want ?? { issuedSince: 0, replacing });
  };

  const singleFlight = (t: Target, run: () => Promise<TokenSet>): Promise<TokenSet> => {
    const pending = flights.get(t.key);
    if (pending) return pending;
    const flight = run().finally(() => {
      if (flights.get(t.key) === flight) flights.delete(t.key);
    });
    flights.set(t.key, flight);
    return flight;
  };

  const refreshInBackground = (t: Target, entry: Entry) => {
    const want = { issuedSince: entry.tokenSet.issuedAt, replacing: entry.tokenSet.accessToken };
    singleFlight(t, () => refresh(t, want)).catch((error: unknown) => {
      const hinted = error instanceof TokenEndpointError ? (error.retryAfter ?? 0) : 0;
      entry.retryAt = now() + Math.max(hinted, retry.maxDelay);
      emit({ type: "refresh_failed", key: t.tokenKey, error, expiresAt: entry.tokenSet.expiresAt });
    });
  };

  const getTokenSet = async (request: TokenRequestOptions = {}): Promise<TokenSet> => {
    if (closing.signal.aborted) throw new TokenClientClosedError();
    const t = target(request);
    const at = now();
    const entry = local.get(t.key);
    if (entry && at < entry.tokenSet.expiresAt && !request.forceRefresh) {
      counters.cacheHits++;
      if (at >= entry.refreshAt && at >= entry.retryAt && !flights.has(t.key)) {
        refreshInBackground(t, entry);
      }
      return entry.tokenSet;
    }
    counters.cacheMisses++;
    const want = request.forceRefresh
      ? { issuedSince: at, replacing: entry?.tokenSet.accessToken }
      : undefined;
    return singleFlight(t, () => load(t, want));
  };

  return {
    getTokenSet,
    async getToken(request) {
      return (await getTokenSet(request)).accessToken;
    },
    async peekTokenSet(selector) {
      const t = target(selector);
      const cached = local.get(t.key)?.tokenSet ?? (await store.get(t.key));
      return cached && now() < cached.expiresAt ? cached : undefined;
    },
    async invalidate(selector = {}) {
      const t = target(selector);
      const cached = local.get(t.key);
      if (
        selector.accessToken === undefined ||
        cached?.tokenSet.accessToken === selector.accessToken
      ) {
        local.delete(t.key);
      }
      if (selector.accessToken !== undefined) {
        rejected.set(t.key, selector.accessToken);
        // A load started before this call may return the dropped token: later callers start anew.
        flights.delete(t.key);
      }
      await store.delete(t.key, selector.accessToken);
    },
    stats() {
      return { ...counters, store: store.kind, storeDegraded: store.degraded };
    },
    async close() {
      if (closing.signal.aborted) return;
      closing.abort();
      local.clear();
      await store.close();
    },
  };
}

async function resolveServer(
  options: ClientCredentialsClientOptions,
  fetchImpl: typeof fetch,
  timeout: number,
): Promise<oauth.AuthorizationServer> {
  if (options.tokenEndpoint !== undefined) {
    const tokenEndpoint = new URL(options.tokenEndpoint).href;
    const issuer =
      options.issuerBaseURL === undefined ? tokenEndpoint : new URL(options.issuerBaseURL).href;
    return { issuer, token_endpoint: tokenEndpoint };
  }
  const issuer = new URL(String(options.issuerBaseURL));
  const signal = AbortSignal.timeout(timeout);
  const response = await guardTransport(
    () =>
      oauth.discoveryRequest(issuer, {
        signal,
        [oauth.customFetch]: fetchImpl,
        [oauth.allowInsecureRequests]: issuer.protocol === "http:",
      }),
    signal,
    timeout,
  );
  const expected = await discoveredIssuer(issuer, response);
  let server: oauth.AuthorizationServer;
  try {
    server = await oauth.processDiscoveryResponse(expected, response);
  } catch (err) {
    const message = err instanceof Error ? err.message : "unreadable";
    throw new InvalidTokenResponseError(`invalid discovery document: ${message}`, {
      status: response.status,
    });
  }
  if (typeof server.token_endpoint !== "string" || !URL.canParse(server.token_endpoint)) {
    throw new InvalidTokenResponseError("discovery document has no valid token_endpoint", {
      status: response.status,
    });
  }
  return server;
}

/**
 * The issuer a discovery response must name, checked with the verifier's rule (exactly the
 * configured one but for a trailing slash) before oauth4webapi's own comparison, which normalizes
 * URLs and tolerates no slash. Throws {@link DiscoveryIssuerMismatchError} for another issuer; a
 * response without a readable `issuer` is left to oauth4webapi to refuse.
 */
async function discoveredIssuer(configured: URL, response: Response): Promise<URL> {
  if (response.status !== 200) return configured;
  const body: unknown = await response
    .clone()
    .json()
    .catch(() => undefined);
  const found = (body as { issuer?: unknown } | null | undefined)?.issuer;
  if (typeof found !== "string") return configured;
  if (!issuerMatches(found, configured.href) || !URL.canParse(found)) {
    throw new DiscoveryIssuerMismatchError(configured.href, found, { status: response.status });
  }
  return new URL(found);
}

function tokenParameters(key: TokenKey, audienceParam: AudienceParam): URLSearchParams {
  const parameters = new URLSearchParams();
  if (key.audience !== undefined) {
    if (audienceParam !== "resource") parameters.set("audience", key.audience);
    if (audienceParam !== "audience") parameters.set("resource", key.audience);
  }
  if (key.scope !== undefined) parameters.set("scope", key.scope);
  return parameters;
}

/** One spelling per set of scopes, so "b a" and ["a", "b"] share a cached token. */
function normalizeScope(scope: string | readonly string[] | undefined): string | undefined {
  if (scope === undefined) return undefined;
  const list = typeof scope === "string" ? scope.split(/\s+/) : scope;
  const unique = [...new Set(list.filter((s) => s.length > 0))].sort();
  return unique.length > 0 ? unique.join(" ") : undefined;
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
