import { cryptoBackend } from "#crypto";
import { authorizationServer } from "./authorization-server.js";
import { type AuthorizedFetchOptions, authorizedFetch } from "./authorized-fetch.js";
import { type ClientCredentialsClientOptions, resolveClientOptions } from "./client-options.js";
import { TokenClientClosedError } from "./errors.js";
import {
  createRefreshCoordinator,
  type RefreshTarget,
  type Wanted,
} from "./refresh-coordinator.js";
import type { TokenClientStats, TokenRequestOptions, TokenSelector, TokenSet } from "./types.js";

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
  /**
   * `fetch` with this client's token: `Authorization: Bearer <token>`, or with `dpop`
   * `Authorization: DPoP <token>` and a fresh proof per request, the API's nonce remembered and
   * asked-for nonces answered by one more send. A 401 `invalid_token` drops the token and sends
   * once more with a new one. `options` picks another audience or scope, or the `fetch` to use.
   */
  fetch(
    input: string | URL | Request,
    init?: RequestInit,
    options?: AuthorizedFetchOptions,
  ): Promise<Response>;
  /**
   * The RFC 7638 thumbprint of the DPoP public key (the `cnf.jkt` of this client's tokens), or
   * `undefined` without `dpop`. For status pages: it identifies the key, it is not a secret.
   */
  dpopKeyThumbprint(): Promise<string | undefined>;
  /** Counters for dashboards. */
  stats(): TokenClientStats;
  /** Stops serving tokens, aborts pending requests and closes the store. */
  close(): Promise<void>;
}

interface Entry {
  readonly tokenSet: TokenSet;
  /** When this process starts a refresh (jittered). */
  readonly refreshAt: number;
  /** No background refresh before this (set after one failed). */
  retryAt: number;
}

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
  const resolved = resolveClientOptions(options);
  const { store, now, emit } = resolved;
  store.listen?.(emit);
  const closing = new AbortController();
  const coordinator = createRefreshCoordinator({
    options: resolved,
    authorizationServer: authorizationServer(resolved),
    signal: closing.signal,
  });

  const counters = { cacheHits: 0, cacheMisses: 0 };
  const local = new Map<string, Entry>();
  const flights = new Map<string, Promise<TokenSet>>();
  // Per cache key, the last token `invalidate` dropped. A load that read it from the store just
  // before the drop reached it must neither hand it out again nor cache it back.
  const rejected = new Map<string, string>();

  const { dpop } = resolved;
  const dpopKeyThumbprint = async () => (dpop ? (await dpop.key()).thumbprint : undefined);

  // A DPoP-bound token is good only with its key, so the key's thumbprint is part of the cache
  // key: clients with their own keys never share a token, clients with the same key pair do.
  const target = async (selector: TokenSelector = {}): Promise<RefreshTarget> => {
    const audience = selector.audience ?? resolved.audience;
    const scope = normalizeScope(selector.scope ?? resolved.scope);
    const identity = [resolved.endpointId, resolved.clientId, audience ?? null, scope ?? null];
    if (dpop) identity.push((await dpop.key()).thumbprint);
    const key = cryptoBackend.sha256Base64url(JSON.stringify(identity));
    return { key, tokenKey: { audience, scope } };
  };

  const remember = (t: RefreshTarget, tokenSet: TokenSet): TokenSet => {
    if (rejected.get(t.key) === tokenSet.accessToken) return tokenSet;
    local.set(t.key, { tokenSet, refreshAt: coordinator.refreshAt(tokenSet), retryAt: 0 });
    return tokenSet;
  };

  const refresh = async (t: RefreshTarget, want: Wanted) =>
    remember(t, await coordinator.refresh(t, want));

  const load = async (t: RefreshTarget, want: Wanted | undefined): Promise<TokenSet> => {
    const replacing = rejected.get(t.key);
    if (want === undefined) {
      const stored = await store.get(t.key);
      if (stored && stored.accessToken !== replacing && now() < stored.expiresAt) {
        return remember(t, stored);
      }
    }
    return refresh(t, want ?? { issuedSince: 0, replacing });
  };

  // One load per cache key at a time in this process: every caller meanwhile gets its result.
  const singleFlight = (t: RefreshTarget, run: () => Promise<TokenSet>): Promise<TokenSet> => {
    const pending = flights.get(t.key);
    if (pending) return pending;
    const flight = run().finally(() => {
      if (flights.get(t.key) === flight) flights.delete(t.key);
    });
    flights.set(t.key, flight);
    return flight;
  };

  // Callers keep getting the cached token meanwhile; a failure only postpones the next attempt.
  const refreshInBackground = (t: RefreshTarget, entry: Entry) => {
    const want = { issuedSince: entry.tokenSet.issuedAt, replacing: entry.tokenSet.accessToken };
    singleFlight(t, () => refresh(t, want)).catch((error: unknown) => {
      entry.retryAt = coordinator.retryAfterFailure(error);
      emit({ type: "refresh_failed", key: t.tokenKey, error, expiresAt: entry.tokenSet.expiresAt });
    });
  };

  const getTokenSet = async (request: TokenRequestOptions = {}): Promise<TokenSet> => {
    if (closing.signal.aborted) throw new TokenClientClosedError();
    const t = await target(request);
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

  const getToken = async (request?: TokenRequestOptions) =>
    (await getTokenSet(request)).accessToken;

  const invalidate: ClientCredentialsClient["invalidate"] = async (selector = {}) => {
    const t = await target(selector);
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
  };

  return {
    getTokenSet,
    getToken,
    async peekTokenSet(selector) {
      const t = await target(selector);
      const cached = local.get(t.key)?.tokenSet ?? (await store.get(t.key));
      return cached && now() < cached.expiresAt ? cached : undefined;
    },
    invalidate,
    fetch: (input, init, options = {}) =>
      authorizedFetch({ getToken, invalidate, dpop }, options, input, init),
    dpopKeyThumbprint,
    stats() {
      const { tokenRequests, tokenRequestFailures } = coordinator.counts();
      return {
        tokenRequests,
        tokenRequestFailures,
        ...counters,
        store: store.kind,
        storeDegraded: store.degraded,
        dpopProofs: dpop?.counts.proofs ?? 0,
        dpopNonceRetries: dpop?.counts.nonceRetries ?? 0,
      };
    },
    async close() {
      if (closing.signal.aborted) return;
      closing.abort();
      local.clear();
      await store.close();
    },
  };
}

/** One spelling per set of scopes, so "b a" and ["a", "b"] share a cached token. */
function normalizeScope(scope: string | readonly string[] | undefined): string | undefined {
  if (scope === undefined) return undefined;
  const list = typeof scope === "string" ? scope.split(/\s+/) : scope;
  const unique = [...new Set(list.filter((s) => s.length > 0))].sort();
  return unique.length > 0 ? unique.join(" ") : undefined;
}
