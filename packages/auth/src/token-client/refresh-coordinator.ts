import type * as oauth from "oauth4webapi";
import { backoffDelay } from "./backoff.js";
import type { ResolvedClientOptions } from "./client-options.js";
import { TokenClientClosedError, TokenClientError, TokenEndpointError } from "./errors.js";
import { fromTokenFailure, toTokenFailure } from "./token-failure.js";
import { requestToken, type TokenEndpointContext } from "./token-request.js";
import type { AudienceParam, StoreLock, TokenKey, TokenSet } from "./types.js";

/** One cached token: its key in the store and what it is for. */
export interface RefreshTarget {
  readonly key: string;
  readonly tokenKey: TokenKey;
}

/** What a token found in the store must satisfy to be used instead of requesting one. */
export interface Wanted {
  readonly issuedSince: number;
  /** The token being replaced, never accepted back. */
  readonly replacing: string | undefined;
}

export interface RefreshCoordinator {
  /**
   * A token set that satisfies `want`: one another caller or process stored, or one requested
   * here while holding the store's lock for `target` (with retries and backoff). A recent failure
   * stored by any process is thrown again rather than asked again.
   */
  refresh(target: RefreshTarget, want: Wanted): Promise<TokenSet>;
  /** When this process starts refreshing `tokenSet` ahead of its expiry (jittered). */
  refreshAt(tokenSet: TokenSet): number;
  /** When a background refresh that failed with `error` may be tried again. */
  retryAfterFailure(error: unknown): number;
  /** Token requests sent and failed so far. */
  counts(): { tokenRequests: number; tokenRequestFailures: number };
}

export interface RefreshCoordinatorOptions {
  readonly options: ResolvedClientOptions;
  readonly authorizationServer: () => Promise<oauth.AuthorizationServer>;
  /** Aborted when the client closes: no new attempt, wait or retry starts after that. */
  readonly signal: AbortSignal;
}

/** Lock lifetime beyond one attempt's timeout, ms, so a slow answer is not raced by another process. */
const LOCK_MARGIN = 2_000;
/** How long a failure without Retry-After is answered to later callers, ms. */
const FAILURE_HOLD = 1_000;
/** Polling of a store that cannot announce changes: first and longest interval, ms. */
const FIRST_POLL = 10;
const MAX_POLL = 200;

/**
 * Decides when tokens are requested and makes sure one process at a time asks: the store's lock
 * elects the process that requests, the others wait for its announcement (or poll a store without
 * one) and take the token or the failure it stored. The holder retries retryable failures with
 * backoff, honouring `Retry-After`, and keeps the lock alive while it waits.
 */
export function createRefreshCoordinator({
  options,
  authorizationServer,
  signal,
}: RefreshCoordinatorOptions): RefreshCoordinator {
  const { store, now, random, sleep, emit, retry, timeout } = options;
  const counters = { tokenRequests: 0, tokenRequestFailures: 0 };
  const client: oauth.Client = { client_id: options.clientId };
  const { dpop } = options;
  const countingFetch: typeof fetch = async (input, init) => {
    if (init?.method === "POST") counters.tokenRequests++;
    if (dpop && new Headers(init?.headers).has("dpop")) dpop.counts.proofs++;
    return options.fetch(input, init);
  };
  const throwIfClosed = () => {
    if (signal.aborted) throw new TokenClientClosedError();
  };

  const skewFor = (tokenSet: TokenSet) =>
    Math.min(options.refreshSkew, (tokenSet.expiresAt - tokenSet.issuedAt) / 4);

  // A token another caller or process obtained that is good enough to use instead of requesting.
  const acceptable = (tokenSet: TokenSet | undefined, want: Wanted): tokenSet is TokenSet =>
    tokenSet !== undefined &&
    tokenSet.accessToken !== want.replacing &&
    tokenSet.issuedAt >= want.issuedSince &&
    now() < tokenSet.expiresAt - skewFor(tokenSet);

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

  const requestWithRetry = async (t: RefreshTarget, lock: StoreLock): Promise<TokenSet> => {
    const started = now();
    const parameters = tokenParameters(t.tokenKey, options.audienceParam);
    for (let attempt = 1; ; attempt++) {
      throwIfClosed();
      emit({ type: "token_request", key: t.tokenKey, attempt });
      try {
        const ctx: TokenEndpointContext = {
          as: await authorizationServer(),
          client,
          clientAuth: options.clientAuth,
          fetch: countingFetch,
          now,
          timeout,
          defaultExpiresIn: options.defaultExpiresIn,
          signal,
          dpop: dpop && (await dpop.key()).handle,
          onNonceRetry: () => {
            if (dpop) dpop.counts.nonceRetries++;
          },
        };
        const tokenSet = await requestToken(ctx, new URLSearchParams(parameters), t.tokenKey.scope);
        emit({ type: "token_received", key: t.tokenKey, expiresAt: tokenSet.expiresAt, attempt });
        return tokenSet;
      } catch (err) {
        throwIfClosed();
        if (!(err instanceof TokenClientError)) throw err;
        counters.tokenRequestFailures++;
        const retryIn = nextDelay(err, attempt, started);
        emit({ type: "token_request_failed", key: t.tokenKey, attempt, error: err, retryIn });
        if (retryIn === undefined || signal.aborted) throw err;
        await lock.extend(retryIn + timeout + LOCK_MARGIN);
        await sleep(retryIn, signal);
      }
    }
  };

  /** As the lock holder: a token someone stored meanwhile, else a new one, stored for everyone. */
  const requestAsHolder = async (t: RefreshTarget, want: Wanted, lock: StoreLock) => {
    const stored = await store.get(t.key);
    if (acceptable(stored, want)) return stored;
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
    return tokenSet;
  };

  const refresh = async (t: RefreshTarget, want: Wanted): Promise<TokenSet> => {
    // A recent failure (here or in another process) is answered again until it lapses, so that
    // a fleet honours one Retry-After instead of each instance asking in turn. Any failure found
    // from here on was stored later, by the request this call waited for: it is recognised by
    // being there, not by its time, which comes from another process's clock.
    const recent = await store.getFailure(t.key);
    if (recent) throw fromTokenFailure(recent);
    let poll = FIRST_POLL;
    for (;;) {
      throwIfClosed();
      const lock = await store.lock(t.key, timeout + LOCK_MARGIN);
      if (lock) {
        try {
          return await requestAsHolder(t, want, lock);
        } finally {
          await lock.release();
        }
      }
      if (store.waitForChange) {
        await store.waitForChange(t.key, signal);
      } else {
        await sleep(poll, signal);
        poll = Math.min(poll * 2, MAX_POLL);
      }
      const stored = await store.get(t.key);
      if (acceptable(stored, want)) return stored;
      const failure = await store.getFailure(t.key);
      if (failure) throw fromTokenFailure(failure);
    }
  };

  return {
    refresh,
    refreshAt(tokenSet) {
      const skew = skewFor(tokenSet);
      return tokenSet.expiresAt - skew + (random() * skew) / 2;
    },
    retryAfterFailure(error) {
      const hinted = error instanceof TokenEndpointError ? (error.retryAfter ?? 0) : 0;
      return now() + Math.max(hinted, retry.maxDelay);
    },
    counts: () => ({ ...counters }),
  };
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
