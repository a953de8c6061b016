import { discover, discoveryUrls, type KeySource } from "./discovery.js";
import type { FetchJsonError, FetchJsonOptions } from "./fetch-json.js";
import type { ResolvedVerifierOptions } from "./resolve-options.js";
import type { JwksFailureReason, JwksFetchTrigger } from "./types.js";

/** Reports one discovery request: `error` is set when it failed. */
export type DiscoveryReport = (
  url: URL,
  trigger: JwksFetchTrigger,
  error: FetchJsonError | undefined,
  durationMs: number,
) => void;

/** Why a JWKS request failed, as reported in `jwks_fetch_failed` events. */
export interface JwksFailure {
  reason: JwksFailureReason;
  status: number | undefined;
}

/** Where the keys come from, following the provider when it moves its JWKS. */
export interface KeyLocation {
  /** The expected `iss`; known once `jwksUri` has resolved. */
  issuer(): string;
  /**
   * The JWKS URL to fetch now. Runs discovery the first time, and again beforehand when the
   * metadata is older than `discoveryMaxAge`; a failed re-discovery keeps the known URL.
   */
  jwksUri(trigger: JwksFetchTrigger): Promise<URL>;
  /**
   * Called after a JWKS request failed. When the answer says the keys are no longer at that URL,
   * runs discovery again (at most once per cooldown) and resolves with the JWKS URL the metadata
   * now names, if it differs; otherwise with `undefined`.
   */
  moved(failure: JwksFailure, trigger: JwksFetchTrigger): Promise<URL | undefined>;
}

// Answers that say the URL no longer serves keys: a document that is no key set, a redirect, or a
// client error (404, 410, 403 from a bucket whose object is gone…). Server errors, 408 and 429 say
// the endpoint is failing or busy, not moved: discovery would then only lengthen every failed
// attempt and load a struggling provider; the metadata still refreshes after `discoveryMaxAge`.
const UNUSABLE_DOCUMENT: ReadonlySet<JwksFailureReason> = new Set([
  "too_large",
  "invalid_json",
  "invalid_document",
]);
const TRANSIENT_STATUS: ReadonlySet<number> = new Set([408, 429]);

function hintsAtMove({ reason, status }: JwksFailure): boolean {
  if (UNUSABLE_DOCUMENT.has(reason) || reason === "redirect") return true;
  return (
    reason === "status" && status !== undefined && status < 500 && !TRANSIENT_STATUS.has(status)
  );
}

export function createKeyLocation(
  options: ResolvedVerifierOptions,
  fetchOptions: FetchJsonOptions,
  report: DiscoveryReport,
): KeyLocation {
  const { now, jwksCooldown, discoveryMaxAge } = options;
  // An explicit jwksUri cannot move; discovery then only ever names the issuer.
  const movable = options.jwksUri === undefined;
  let source: KeySource | undefined =
    options.issuer !== undefined && options.jwksUri !== undefined
      ? { issuer: options.issuer, jwksUri: options.jwksUri }
      : undefined;
  const configuredIssuer = options.issuer ?? (options.issuerBaseURL as URL).href;
  let discoveredIssuer: string | undefined;
  let discoveredAt = Number.NEGATIVE_INFINITY;
  let lastDiscoveryAt = Number.NEGATIVE_INFINITY;

  async function runDiscovery(trigger: JwksFetchTrigger): Promise<KeySource> {
    lastDiscoveryAt = now();
    const started = performance.now();
    const metadata = await discover(
      discoveryUrls(options.issuerBaseURL as URL),
      options.allowInsecureHttp,
      fetchOptions,
      { configured: configuredIssuer, discovered: discoveredIssuer },
      (url, error) => report(url, trigger, error, performance.now() - started),
    );
    discoveredIssuer = metadata.issuer;
    discoveredAt = now();
    // The metadata's spelling: it may differ from the configured one by a trailing slash.
    source = {
      issuer: metadata.issuer,
      jwksUri: options.jwksUri ?? metadata.jwksUri,
    };
    return source;
  }

  // Keys already known keep being fetched from where they were; the failure is reported as an event.
  async function rediscover(trigger: JwksFetchTrigger): Promise<void> {
    await runDiscovery(trigger).catch(() => {});
  }

  // Shares the cooldown of unknown-kid refetches, so a flood of tokens costs at most one
  // discovery per cooldown on top of the JWKS requests.
  const mayRediscover = (at: number): boolean =>
    movable && source !== undefined && at - lastDiscoveryAt >= jwksCooldown;

  return {
    issuer: () => (source as KeySource).issuer,
    async jwksUri(trigger) {
      if (source === undefined) return (await runDiscovery(trigger)).jwksUri;
      const at = now();
      if (mayRediscover(at) && at - discoveredAt >= discoveryMaxAge) await rediscover(trigger);
      return source.jwksUri;
    },
    async moved(failure, trigger) {
      if (!hintsAtMove(failure) || !mayRediscover(now())) return undefined;
      const before = (source as KeySource).jwksUri.href;
      await rediscover(trigger);
      const after = (source as KeySource).jwksUri;
      return after.href === before ? undefined : after;
    },
  };
}
