import "server-only";
import type { AppRouter } from "@repo/api";
import { createAuthorizedFetch } from "@repo/auth";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { type ApiCallLog, createApiCallLog, timedFetch } from "./api-call-log";
import { getWebEnv } from "./env";
import { processSingleton } from "./process-singleton";
import { getTokenClient } from "./token-client";

/** A hung API must not hang page renders: past this, the call fails and the page explains. */
const apiTimeoutMs = 5_000;

function withTimeout(fetchImpl: typeof fetch, timeoutMs: number): typeof fetch {
  return (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return fetchImpl(input, { ...init, signal });
  };
}

export function getApiCallLog(): ApiCallLog {
  return processSingleton("api-call-log", () => createApiCallLog());
}

/**
 * The typed tRPC client for apps/api, one per process. Every HTTP request carries the process's
 * M2M token; a 401 `invalid_token` drops that token and the request is retried once with a new one.
 */
export function getApiClient() {
  return processSingleton("api-client", () => {
    const env = getWebEnv();
    const transport = timedFetch(withTimeout(fetch, apiTimeoutMs), getApiCallLog(), env.API_URL);
    return createTRPCClient<AppRouter>({
      links: [
        httpBatchLink({
          url: env.API_URL,
          fetch: createAuthorizedFetch(getTokenClient(), { fetch: transport }),
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
          fetch: timedFetch(withTimeout(fetch, apiTimeoutMs), getApiCallLog(), env.API_URL),
        }),
      ],
    });
  });
}
