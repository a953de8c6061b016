import "server-only";
import type { AppRouter } from "@repo/api";
import { createAuthorizedFetch } from "@repo/auth";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { type ApiCallLog, createApiCallLog, timedFetch } from "./api-call-log";
import { getWebEnv } from "./env";
import { processSingleton } from "./process-singleton";
import { retryOnReset } from "./retry-on-reset";
import { getTokenClient } from "./token-client";
import { withTimeout } from "./with-timeout";

/** A hung API must not hang page renders: past this, the call fails and the page explains. */
const apiTimeoutMs = 5_000;

export function getApiCallLog(): ApiCallLog {
  return processSingleton("api-call-log", () => createApiCallLog());
}

/**
 * How every request reaches the API. The retry sits outside `timedFetch`, so the log keeps one
 * entry per HTTP request: a reset shows on the latency chart as the call without an answer it was,
 * and the resent request's latency is its own, not the sum of both. The timeout sits outside the
 * retry: one deadline for the call, so a reset followed by a hung API still ends the render in time.
 */
function apiTransport(endpoint: string): typeof fetch {
  return withTimeout(retryOnReset(timedFetch(fetch, getApiCallLog(), endpoint)), apiTimeoutMs);
}

/**
 * The typed tRPC client for apps/api, one per process. Every HTTP request carries the process's
 * M2M token; a 401 `invalid_token` drops that token and the request is retried once with a new one.
 * A query (GET) whose keep-alive connection is reset before any answer is sent once more.
 */
export function getApiClient() {
  return processSingleton("api-client", () => {
    const env = getWebEnv();
    return createTRPCClient<AppRouter>({
      links: [
        httpBatchLink({
          url: env.API_URL,
          fetch: createAuthorizedFetch(getTokenClient(), { fetch: apiTransport(env.API_URL) }),
        }),
      ],
    });
  });
}

/**
 * A client without credentials for the API's public procedures (`health`), so the status page can
 * still reach the API when no token can be obtained.
 */
export function getPublicApiClient() {
  return processSingleton("public-api-client", () => {
    const env = getWebEnv();
    return createTRPCClient<AppRouter>({
      links: [
        httpBatchLink({
          url: env.API_URL,
          fetch: apiTransport(env.API_URL),
        }),
      ],
    });
  });
}
