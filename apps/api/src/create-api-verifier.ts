import { randomBytes } from "node:crypto";
import {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  type DpopReplayStore,
  type VerifierEvent,
} from "@repo/auth";
import type { ApiConfig } from "./env.js";
import type { Logger } from "./logger.js";
import type { ApiMetrics } from "./metrics.js";

const toMs = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);

/** A URL as it may be logged: without a user name or password. */
function loggable(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return url;
  const parsed = new URL(url);
  parsed.username = "";
  parsed.password = "";
  return parsed.href;
}

type FetchFailure = Extract<VerifierEvent, { type: "jwks_fetch_failed" }>;

/**
 * A failed discovery or JWKS request as a sentence naming the setting to check, for an operator
 * reading the log of an API that cannot get its keys.
 */
function describeFetchFailure(event: FetchFailure, config: ApiConfig): string {
  const url = loggable(event.url);
  const discovery = event.resource === "discovery";
  const subject = discovery
    ? `ISSUER_BASE_URL ${loggable(config.issuerBaseURL)}`
    : config.jwksUri === undefined
      ? "the JWKS the discovery document names"
      : `JWKS_URI ${loggable(config.jwksUri)}`;
  const served = discovery ? "an OpenID discovery document" : "a JSON Web Key Set";
  switch (event.reason) {
    case "network":
      return `${subject} is not reachable (${url}): check the URL and that the authorization server is up`;
    case "timeout":
      return `${subject} did not answer in time (${url}): check the URL, or raise JWKS_TIMEOUT`;
    case "status":
      return `${subject} answered ${event.status} (${url}): check the URL${discovery ? " (the authorization server's base URL; discovery adds /.well-known/openid-configuration)" : ""}`;
    case "redirect":
      return `${subject} answered a redirect (${event.status}, ${url}), which is not followed: use the URL it redirects to`;
    case "too_large":
    case "invalid_json":
    case "invalid_document":
      return `${subject} did not serve ${served} (${url}): check the URL`;
    case "issuer_changed":
      return `${subject} now names another issuer (${url}): its metadata was not used`;
    case "issuer_mismatch":
      return `${subject} serves metadata naming another issuer (${url}): set ISSUER_BASE_URL to the issuer the provider publishes, or set ISSUER and JWKS_URI`;
    default:
      return `${subject} failed (${event.reason}, ${url})`;
  }
}

/**
 * Builds the process's one verifier from the configuration, logging what it trusts, and reporting
 * its events to the metrics and its key-store troubles to the log, in words.
 */
export function createApiVerifier(
  config: ApiConfig,
  deps: {
    logger: Logger;
    metrics: ApiMetrics;
    fetch: typeof globalThis.fetch | undefined;
    now: (() => number) | undefined;
    /** Called when a key refresh retired keys (streams signed by them must end). */
    onKeysRetired?: () => void;
    /** Where proofs' `jti`s are kept; default the verifier's memory store. */
    replayStore: DpopReplayStore | undefined;
  },
): AccessTokenVerifier {
  const { logger, metrics } = deps;
  const { dpop } = config;
  logger.info(
    {
      mode: dpop.mode,
      nonces: dpop.nonce,
      replayStore: deps.replayStore === undefined ? "memory" : "redis",
      publicUrl: config.publicUrl ?? "the listen URL",
    },
    "DPoP settings",
  );
  if (dpop.nonce && dpop.nonceSecret === undefined) {
    logger.warn(
      "DPOP_NONCE=on without DPOP_NONCE_SECRET: this instance makes up its own nonce secret, so other instances refuse its nonces; set the same DPOP_NONCE_SECRET on every instance",
    );
  }
  logger.info(
    {
      issuerBaseURL: loggable(config.issuerBaseURL),
      issuer: config.issuer,
      jwksUri: loggable(config.jwksUri),
      audience: config.audience,
      algorithms: config.algorithms,
    },
    "verifying access tokens",
  );
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
    dpop: {
      mode: dpop.mode,
      iatWindow: dpop.iatWindow,
      replayStore: deps.replayStore,
      nonce: dpop.nonce
        ? { secret: dpop.nonceSecret ?? randomBytes(32).toString("base64url") }
        : undefined,
    },
    onEvent(event) {
      metrics.onVerifierEvent(event);
      if (event.type === "keys_retired") {
        logger.info({ kids: event.kids, count: event.count }, "verification keys retired");
        deps.onKeysRetired?.();
      }
      if (event.type === "jwks_fetch_failed") {
        const { resource, trigger, reason, status, durationMs } = event;
        logger.warn(
          { resource, trigger, reason, status, url: loggable(event.url), durationMs },
          describeFetchFailure(event, config),
        );
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
