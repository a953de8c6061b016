import { type AccessTokenVerifier, createAccessTokenVerifier } from "@repo/auth";
import type { ApiConfig } from "./env.js";
import type { Logger } from "./logger.js";
import type { ApiMetrics } from "./metrics.js";

const toMs = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);

/**
 * Builds the process's one verifier from the configuration, reporting its events to the metrics
 * and its key-store troubles to the log (keys of the JWKS it refused and discovery metadata naming
 * another issuer included).
 */
export function createApiVerifier(
  config: ApiConfig,
  deps: {
    logger: Logger;
    metrics: ApiMetrics;
    fetch: typeof globalThis.fetch | undefined;
    now: (() => number) | undefined;
  },
): AccessTokenVerifier {
  const { logger, metrics } = deps;
  return createAccessTokenVerifier({
    issuerBaseURL: config.issuerBaseURL,
    issuer: config.issuer,
    jwksUri: config.jwksUri,
    audience: config.audience,
    algorithms: config.algorithms,
    clockTolerance: config.clockTolerance,
    jwksCacheMaxAge: toMs(config.jwksCacheMaxAge),
    jwksMaxStaleness: toMs(config.jwksMaxStale),
    jwksCooldown: toMs(config.jwksCooldown),
    timeout: toMs(config.jwksTimeout),
    allowInsecureHttp: config.allowInsecureHttp ? true : "loopback",
    fetch: deps.fetch,
    now: deps.now,
    onEvent(event) {
      metrics.onVerifierEvent(event);
      if (event.type === "jwks_fetch_failed") {
        const { resource, trigger, reason, status, url, durationMs } = event;
        logger.warn({ resource, trigger, reason, status, url, durationMs }, "jwks fetch failed");
      } else if (event.type === "keys_state_changed") {
        const level = event.state === "down" ? "error" : event.state === "stale" ? "warn" : "info";
        logger[level](
          { state: event.state, previous: event.previous },
          "verification keys changed state",
        );
      } else if (event.type === "jwk_rejected") {
        logger.warn({ kid: event.kid, reason: event.reason }, "jwks key rejected");
      } else if (event.type === "issuer_mismatch") {
        const { url, expected, found } = event;
        logger.error(
          { url, expected, found },
          "discovery metadata names another issuer; its keys are not used",
        );
      }
    },
  });
}
