import type { VerifierEvent, VerifierHealth } from "@repo/auth";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The API's Prometheus metrics, in a registry of its own (several servers may share a process). */
export interface ApiMetrics {
  registry: Registry;
  /** One finished tRPC call (or plain route) with the status it got. */
  recordRequest(procedure: string, status: number): void;
  /** One HTTP request's duration, in seconds. */
  observeDuration(route: string, seconds: number): void;
  /** One request's token verification: `ok`, or the `AuthError` code that stopped it. */
  recordVerification(code: string | undefined, reason: string | undefined): void;
  /** Feeds the verifier's `onEvent`. */
  onVerifierEvent(event: VerifierEvent): void;
  /** One subscription stream the server ended, by the reason its last event gave. */
  recordStreamEnd(reason: string): void;
}

/** What the metrics read about subscription streams at scrape time. */
export interface StreamGauges {
  open(): number;
  refused(): number;
}

const KEY_STATES = ["fresh", "stale", "down"] as const;

/**
 * Creates the metrics. Key-store gauges are read from `health()` at scrape time, so they cost
 * nothing per request.
 *
 * @example
 * const metrics = createApiMetrics(() => verifier.health());
 * response.end(await metrics.registry.metrics());
 */
export function createApiMetrics(
  health: () => VerifierHealth,
  streams: StreamGauges = { open: () => 0, refused: () => 0 },
): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: "api_requests_total",
    help: "tRPC calls (each call of a batch counts) and plain routes, by procedure and HTTP status.",
    labelNames: ["procedure", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "api_request_duration_seconds",
    help: "HTTP request duration, by route (trpc, healthz, readyz, metrics, other).",
    labelNames: ["route"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  });
  // The outcomes of nearly every protected request (verified; cache hit or miss) are counted in
  // plain numbers and added to their counters when the registry is read: prom-client builds a label
  // key string on every `inc`, which the hot path does not need to pay.
  const pending = { verified: 0, hits: 0, misses: 0 };
  const verifications = new Counter({
    name: "api_token_verifications_total",
    help: "Requests whose token was verified, by result (ok, rejected, unavailable), error code and reason.",
    labelNames: ["result", "code", "reason"],
    registers: [registry],
    collect() {
      if (pending.verified === 0) return;
      this.inc({ result: "ok", code: "", reason: "" }, pending.verified);
      pending.verified = 0;
    },
  });
  new Counter({
    name: "api_verified_token_cache_total",
    help: "Successful verifications, by whether the verified-token cache answered (hit) or not (miss).",
    labelNames: ["result"],
    registers: [registry],
    collect() {
      if (pending.hits > 0) this.inc({ result: "hit" }, pending.hits);
      if (pending.misses > 0) this.inc({ result: "miss" }, pending.misses);
      pending.hits = 0;
      pending.misses = 0;
    },
  });
  const jwksFetches = new Counter({
    name: "api_jwks_fetches_total",
    help: "Discovery and JWKS requests, by resource, outcome (ok, failed), failure reason and trigger.",
    labelNames: ["resource", "outcome", "reason", "trigger"],
    registers: [registry],
  });
  new Gauge({
    name: "api_jwks_state",
    help: "Key-store state: 1 for the current state (fresh, stale, down), 0 for the others.",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const { state } = health();
      for (const candidate of KEY_STATES)
        this.set({ state: candidate }, candidate === state ? 1 : 0);
    },
  });
  new Gauge({
    name: "api_jwks_keys",
    help: "Usable verification keys.",
    registers: [registry],
    collect() {
      this.set(health().keys);
    },
  });
  new Gauge({
    name: "api_jwks_last_refresh_timestamp_seconds",
    help: "When the JWKS was last fetched successfully (0 if never).",
    registers: [registry],
    collect() {
      this.set((health().lastRefreshAt ?? 0) / 1000);
    },
  });

  new Gauge({
    name: "api_open_streams",
    help: "Subscription streams open now.",
    registers: [registry],
    collect() {
      this.set(streams.open());
    },
  });
  new Counter({
    name: "api_streams_refused_total",
    help: "Subscription streams refused because the client held MAX_STREAMS_PER_CLIENT already.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(streams.refused());
    },
  });
  const streamEnds = new Counter({
    name: "api_streams_ended_total",
    help: "Subscription streams the server ended, by reason (token_expired, key_revoked, shutting_down).",
    labelNames: ["reason"],
    registers: [registry],
  });

  return {
    registry,
    recordStreamEnd: (reason) => streamEnds.inc({ reason }),
    recordRequest: (procedure, status) => requests.inc({ procedure, status }),
    observeDuration: (route, seconds) => duration.observe({ route }, seconds),
    recordVerification(code, reason) {
      if (code === undefined) {
        pending.verified += 1;
        return;
      }
      const result = code === "ERR_AUTH_KEYS_UNAVAILABLE" ? "unavailable" : "rejected";
      verifications.inc({ result, code, reason: reason ?? "" });
    },
    onVerifierEvent(event) {
      switch (event.type) {
        case "token_verified":
          if (event.cached) pending.hits += 1;
          else pending.misses += 1;
          break;
        case "jwks_fetch_succeeded":
          jwksFetches.inc({
            resource: event.resource,
            outcome: "ok",
            reason: "",
            trigger: event.trigger,
          });
          break;
        case "jwks_fetch_failed":
          jwksFetches.inc({
            resource: event.resource,
            outcome: "failed",
            reason: event.reason,
            trigger: event.trigger,
          });
          break;
      }
    },
  };
}
