import { InvalidTokenError, KeysUnavailableError } from "../errors.js";
import { unrefTimer } from "../unref-timer.js";
import type { SigningKey } from "./algorithms.js";
import { IssuerMismatchError } from "./discovery.js";
import { FetchJsonError, fetchJson } from "./fetch-json.js";
import { readJwksDocument } from "./jwks-document.js";
import { createKeyLocation, type JwksFailure } from "./key-location.js";
import type { ResolvedVerifierOptions } from "./resolve-options.js";
import type { JwksFetchTrigger, KeyStoreState, VerifierEvent, VerifierHealth } from "./types.js";

/** The JWKS cache behind a verifier: one fetch at a time, background refresh, bounded staleness. */
export interface KeyStore {
  /**
   * The keys a token with this `kid`/`alg` may be signed with; an array when known now, a promise
   * when a fetch is needed first. Throws (or rejects with) `InvalidTokenError("unknown_key")` or
   * {@link KeysUnavailableError}.
   */
  candidates(
    kid: string | undefined,
    alg: string,
  ): readonly SigningKey[] | Promise<readonly SigningKey[]>;
  /** The expected `iss`; known once `candidates` has returned keys. */
  issuer(): string;
  /** Until when (epoch ms) verified tokens may be served from cache: keys fresh or tolerably stale. */
  usableUntil(): number;
  /** Until when (epoch ms) keys count as fresh; past it a background refresh is due. */
  freshUntil(): number;
  /** Starts a background refresh if one is due and allowed by the cooldown. */
  refreshIfDue(now: number): void;
  warmUp(): Promise<void>;
  health(): VerifierHealth;
  close(): void;
}

type Emit = (event: VerifierEvent) => void;

const NO_KEYS: readonly SigningKey[] = Object.freeze([]);
const MIN_RETRY_AFTER = 1_000;
const FIRST_BACKGROUND_RETRY = 1_000;
const MIN_BACKGROUND_RETRY = 10;

/** Background refresh lead: refresh at 80% of the max age, at most one minute ahead. */
function refreshDelay(maxAge: number): number {
  // The floor keeps a tiny configured max age from turning the refresh into a busy loop.
  return Math.max(MIN_BACKGROUND_RETRY, maxAge - Math.min(maxAge / 5, 60_000));
}

function failureOf(error: unknown): JwksFailure {
  if (error instanceof FetchJsonError) return { reason: error.reason, status: error.status };
  // Anything else (InvalidJwksError included) means the document cannot be used.
  return { reason: "invalid_document", status: undefined };
}

export function createKeyStore(
  options: ResolvedVerifierOptions,
  emit: Emit,
  onKeysRetired: (retired: readonly SigningKey[]) => void,
): KeyStore {
  const { now, jwksCacheMaxAge, jwksMaxStaleness, jwksCooldown } = options;
  const fetchOptions = {
    fetch: options.fetch,
    timeout: options.timeout,
    maxResponseSize: options.maxResponseSize,
  };

  let keys: readonly SigningKey[] = NO_KEYS;
  // alg → kid → keys; the `undefined` kid lists every key usable with that alg (tokens without kid).
  let index = new Map<string, Map<string | undefined, SigningKey[]>>();
  let lastRefreshAt: number | null = null;
  let lastAttemptAt: number | null = null;
  let consecutiveFailures = 0;
  // Kept as the `cause` of KeysUnavailableError, so logs show why the keys are missing.
  let lastFailure: unknown;
  let inFlight: Promise<void> | undefined;
  // When the load in flight started (performance.now()), to tell one the platform dropped.
  let inFlightSince = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let reportedState: KeyStoreState = "down";

  const stateAt = (at: number): KeyStoreState => {
    if (lastRefreshAt === null) return "down";
    const age = at - lastRefreshAt;
    if (age < jwksCacheMaxAge) return "fresh";
    return age < jwksCacheMaxAge + jwksMaxStaleness ? "stale" : "down";
  };

  const observe = (state: KeyStoreState): KeyStoreState => {
    if (state !== reportedState) {
      const previous = reportedState;
      reportedState = state;
      emit({ type: "keys_state_changed", state, previous });
    }
    return state;
  };

  const cooldownLeft = (at: number): number =>
    lastAttemptAt === null ? 0 : Math.max(0, jwksCooldown - (at - lastAttemptAt));

  const unavailable = (at: number): KeysUnavailableError =>
    new KeysUnavailableError(Math.max(cooldownLeft(at), MIN_RETRY_AFTER) / 1000, {
      cause: lastFailure,
    });

  function install(next: readonly SigningKey[]): void {
    const kept = new Set(next);
    const retired: SigningKey[] = [];
    for (const key of keys) {
      if (!kept.has(key)) {
        key.retired = true;
        retired.push(key);
      }
    }
    keys = next;
    index = new Map();
    for (const alg of options.algorithms) {
      const byKid = new Map<string | undefined, SigningKey[]>();
      for (const key of next) {
        if (!key.inputs.has(alg)) continue;
        for (const kid of key.kid === undefined ? [undefined] : [undefined, key.kid]) {
          const list = byKid.get(kid);
          if (list) list.push(key);
          else byKid.set(kid, [key]);
        }
      }
      index.set(alg, byKid);
    }
    if (retired.length > 0) onKeysRetired(retired);
  }

  function schedule(delay: number): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void refresh(consecutiveFailures > 0 ? "retry" : "refresh");
    }, delay);
    unrefTimer(timer);
  }

  const location = createKeyLocation(options, fetchOptions, (url, trigger, error, durationMs) => {
    const base = { url: url.href, resource: "discovery" as const, trigger, durationMs };
    if (error) {
      emit({ type: "jwks_fetch_failed", ...base, reason: error.reason, status: error.status });
      if (error instanceof IssuerMismatchError) {
        const { expected, found } = error;
        emit({ type: "issuer_mismatch", url: url.href, expected, found });
      }
    } else {
      emit({ type: "jwks_fetch_succeeded", ...base, keys: 0 });
    }
  });

  /** One JWKS request; a failure is reported, then rethrown. */
  async function fetchKeys(
    url: URL,
    trigger: JwksFetchTrigger,
  ): Promise<{ next: readonly SigningKey[]; durationMs: number }> {
    const started = performance.now();
    try {
      const next = await readJwksDocument(
        await fetchJson(url, fetchOptions),
        options.algorithms,
        keys,
        (kid, reason) => emit({ type: "jwk_rejected", kid, reason }),
      );
      return { next, durationMs: performance.now() - started };
    } catch (error) {
      emit({
        type: "jwks_fetch_failed",
        url: url.href,
        resource: "jwks",
        trigger,
        ...failureOf(error),
        durationMs: performance.now() - started,
      });
      throw error;
    }
  }

  async function load(trigger: JwksFetchTrigger): Promise<void> {
    lastAttemptAt = now();
    try {
      let url = await location.jwksUri(trigger);
      let fetched: Awaited<ReturnType<typeof fetchKeys>>;
      try {
        fetched = await fetchKeys(url, trigger);
      } catch (error) {
        const moved = await location.moved(failureOf(error), trigger);
        if (moved === undefined) throw error;
        url = moved;
        fetched = await fetchKeys(url, trigger);
      }
      install(fetched.next);
      lastRefreshAt = now();
      consecutiveFailures = 0;
      lastFailure = undefined;
      emit({
        type: "jwks_fetch_succeeded",
        url: url.href,
        resource: "jwks",
        trigger,
        keys: fetched.next.length,
        durationMs: fetched.durationMs,
      });
      schedule(refreshDelay(jwksCacheMaxAge));
    } catch (error) {
      consecutiveFailures += 1;
      lastFailure = error;
      // Exponential backoff from 1 s (or the cooldown, if shorter) up to the cooldown.
      const ceiling = Math.max(jwksCooldown, MIN_BACKGROUND_RETRY);
      const first = Math.min(FIRST_BACKGROUND_RETRY, ceiling);
      schedule(Math.min(first * 2 ** Math.min(consecutiveFailures - 1, 16), ceiling));
    } finally {
      observe(stateAt(now()));
    }
  }

  // On Workers a promise belongs to the request that created it: once that request has ended (a
  // background refresh outlives the response that started it), the load is dropped and never
  // settles, and awaiting it from another request throws. A load that has outlived every deadline
  // it could take (discovery, JWKS, re-discovery, moved JWKS) is taken for dropped.
  const abandonAfter = 4 * options.timeout + 1_000;

  /** Whether a load is in flight; forgets one that has been in flight too long to be alive. */
  function loading(): boolean {
    if (inFlight !== undefined && performance.now() - inFlightSince > abandonAfter) {
      inFlight = undefined;
    }
    return inFlight !== undefined;
  }

  function refresh(trigger: JwksFetchTrigger): Promise<void> {
    if (!loading()) {
      const started = load(trigger).finally(() => {
        if (inFlight === started) inFlight = undefined;
      });
      inFlight = started;
      inFlightSince = performance.now();
    }
    return inFlight as Promise<void>;
  }

  /** Waits for a load, starting one here if the one in flight cannot settle in this request. */
  async function refreshed(trigger: JwksFetchTrigger): Promise<void> {
    const awaited = refresh(trigger);
    try {
      await awaited;
    } catch {
      // `load` settles even when its fetches fail: a rejection is the platform refusing to settle
      // another request's promise.
      if (inFlight === awaited) inFlight = undefined;
      await refresh(trigger);
    }
  }

  const lookup = (kid: string | undefined, alg: string): readonly SigningKey[] =>
    index.get(alg)?.get(kid) ?? NO_KEYS;

  async function afterFetch(
    kid: string | undefined,
    alg: string,
    trigger: JwksFetchTrigger,
  ): Promise<readonly SigningKey[]> {
    await refreshed(trigger);
    const at = now();
    if (observe(stateAt(at)) === "down") throw unavailable(at);
    const found = lookup(kid, alg);
    if (found.length === 0) throw new InvalidTokenError("unknown_key");
    return found;
  }

  return {
    candidates(kid, alg) {
      const at = now();
      const state = observe(stateAt(at));
      if (state === "down") {
        if (!loading() && cooldownLeft(at) > 0) throw unavailable(at);
        return afterFetch(kid, alg, lastRefreshAt === null ? "cold" : "retry");
      }
      if (state === "stale" && cooldownLeft(at) === 0 && !loading()) void refresh("refresh");
      const found = lookup(kid, alg);
      if (found.length > 0) return found;
      if (cooldownLeft(at) > 0 && !loading()) throw new InvalidTokenError("unknown_key");
      return afterFetch(kid, alg, "unknown_kid");
    },
    issuer: () => location.issuer(),
    usableUntil: () =>
      lastRefreshAt === null
        ? Number.NEGATIVE_INFINITY
        : lastRefreshAt + jwksCacheMaxAge + jwksMaxStaleness,
    freshUntil: () =>
      lastRefreshAt === null ? Number.NEGATIVE_INFINITY : lastRefreshAt + jwksCacheMaxAge,
    refreshIfDue(at) {
      if (cooldownLeft(at) === 0 && stateAt(at) !== "fresh" && !loading()) void refresh("refresh");
    },
    async warmUp() {
      if (stateAt(now()) !== "fresh") await refreshed("warm_up");
    },
    health() {
      const state = observe(stateAt(now()));
      return { state, keys: state === "down" ? 0 : keys.length, lastRefreshAt };
    },
    close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
