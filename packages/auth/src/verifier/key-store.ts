import { InvalidTokenError, KeysUnavailableError } from "../errors.js";
import type { SigningKey } from "./algorithms.js";
import { discover, discoveryUrls, type KeySource } from "./discovery.js";
import { FetchJsonError, fetchJson } from "./fetch-json.js";
import { readJwksDocument } from "./jwks-document.js";
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

export function createKeyStore(
  options: ResolvedVerifierOptions,
  emit: Emit,
  onKeysRetired: () => void,
): KeyStore {
  const { now, jwksCacheMaxAge, jwksMaxStaleness, jwksCooldown } = options;
  const fetchOptions = {
    fetch: options.fetch,
    timeout: options.timeout,
    maxResponseSize: options.maxResponseSize,
  };

  let source: KeySource | undefined =
    options.issuer !== undefined && options.jwksUri !== undefined
      ? { issuer: options.issuer, jwksUri: options.jwksUri }
      : undefined;
  let keys: readonly SigningKey[] = NO_KEYS;
  // alg → kid → keys; the `undefined` kid lists every key usable with that alg (tokens without kid).
  let index = new Map<string, Map<string | undefined, SigningKey[]>>();
  let lastRefreshAt: number | null = null;
  let lastAttemptAt: number | null = null;
  let consecutiveFailures = 0;
  // Kept as the `cause` of KeysUnavailableError, so logs show why the keys are missing.
  let lastFailure: unknown;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
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
    let retired = false;
    for (const key of keys) {
      if (!kept.has(key)) {
        key.retired = true;
        retired = true;
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
    if (retired) onKeysRetired();
  }

  function schedule(delay: number): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void refresh(consecutiveFailures > 0 ? "retry" : "refresh");
    }, delay);
    timer.unref();
  }

  async function resolveSource(trigger: JwksFetchTrigger): Promise<KeySource> {
    if (source) return source;
    const urls = discoveryUrls(options.issuerBaseURL as URL);
    const started = performance.now();
    const metadata = await discover(urls, options.allowInsecureHttp, fetchOptions, (url, error) => {
      const base = { url: url.href, resource: "discovery" as const, trigger };
      const durationMs = performance.now() - started;
      if (error) {
        emit({
          type: "jwks_fetch_failed",
          ...base,
          reason: error.reason,
          status: error.status,
          durationMs,
        });
      } else {
        emit({ type: "jwks_fetch_succeeded", ...base, keys: 0, durationMs });
      }
    });
    source = {
      issuer: options.issuer ?? metadata.issuer,
      jwksUri: options.jwksUri ?? metadata.jwksUri,
    };
    return source;
  }

  async function load(trigger: JwksFetchTrigger): Promise<void> {
    lastAttemptAt = now();
    let url: string | undefined;
    let started = performance.now();
    try {
      const { jwksUri } = await resolveSource(trigger);
      url = jwksUri.href;
      started = performance.now();
      const next = await readJwksDocument(
        await fetchJson(jwksUri, fetchOptions),
        options.algorithms,
        keys,
      );
      install(next);
      lastRefreshAt = now();
      consecutiveFailures = 0;
      lastFailure = undefined;
      emit({
        type: "jwks_fetch_succeeded",
        url,
        resource: "jwks",
        trigger,
        keys: next.length,
        durationMs: performance.now() - started,
      });
      schedule(refreshDelay(jwksCacheMaxAge));
    } catch (error) {
      consecutiveFailures += 1;
      lastFailure = error;
      if (url !== undefined) {
        // Anything else (InvalidJwksError included) means the document cannot be used.
        const reason = error instanceof FetchJsonError ? error.reason : "invalid_document";
        const status = error instanceof FetchJsonError ? error.status : undefined;
        emit({
          type: "jwks_fetch_failed",
          url,
          resource: "jwks",
          trigger,
          reason,
          status,
          durationMs: performance.now() - started,
        });
      }
      // Exponential backoff from 1 s (or the cooldown, if shorter) up to the cooldown.
      const ceiling = Math.max(jwksCooldown, MIN_BACKGROUND_RETRY);
      const first = Math.min(FIRST_BACKGROUND_RETRY, ceiling);
      schedule(Math.min(first * 2 ** Math.min(consecutiveFailures - 1, 16), ceiling));
    } finally {
      observe(stateAt(now()));
    }
  }

  function refresh(trigger: JwksFetchTrigger): Promise<void> {
    inFlight ??= load(trigger).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  const lookup = (kid: string | undefined, alg: string): readonly SigningKey[] =>
    index.get(alg)?.get(kid) ?? NO_KEYS;

  async function afterFetch(
    kid: string | undefined,
    alg: string,
    trigger: JwksFetchTrigger,
  ): Promise<readonly SigningKey[]> {
    await refresh(trigger);
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
        if (inFlight === undefined && cooldownLeft(at) > 0) throw unavailable(at);
        return afterFetch(kid, alg, lastRefreshAt === null ? "cold" : "retry");
      }
      if (state === "stale" && inFlight === undefined && cooldownLeft(at) === 0)
        void refresh("refresh");
      const found = lookup(kid, alg);
      if (found.length > 0) return found;
      if (inFlight === undefined && cooldownLeft(at) > 0)
        throw new InvalidTokenError("unknown_key");
      return afterFetch(kid, alg, "unknown_kid");
    },
    issuer: () => (source as KeySource).issuer,
    usableUntil: () =>
      lastRefreshAt === null
        ? Number.NEGATIVE_INFINITY
        : lastRefreshAt + jwksCacheMaxAge + jwksMaxStaleness,
    freshUntil: () =>
      lastRefreshAt === null ? Number.NEGATIVE_INFINITY : lastRefreshAt + jwksCacheMaxAge,
    refreshIfDue(at) {
      if (inFlight === undefined && cooldownLeft(at) === 0 && stateAt(at) !== "fresh")
        void refresh("refresh");
    },
    async warmUp() {
      if (stateAt(now()) !== "fresh") await refresh("warm_up");
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
