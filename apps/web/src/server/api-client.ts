import "server-only";
import type { AppRouter } from "@repo/api";
import { createAuthorizedFetch } from "@repo/auth";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { cache } from "react";
import { type ApiCallLog, createApiCallLog, timedFetch } from "./api-call-log";
import { getWebEnv } from "./env";
import { processSingleton } from "./process-singleton";
import { getRequestId, REQUEST_ID_HEADER } from "./request-id";
import { retryOnReset } from "./retry-on-reset";
import { getTokenClient } from "./token-client";
import { withTimeout } from "./with-timeout";

/** The header that makes a mutation idempotent: the API answers a repeat with the first result. */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

/** A hung API must not hang page renders: past this, the call fails and the page explains. */
const apiTimeoutMs = 5_000;

export function getApiCallLog(): ApiCallLog {
  return processSingleton("api-call-log", () => createApiCallLog());
}

/**
 * How every request reaches the API: `authorize` (the token client's signing layer, or nothing)
 * over `timedFetch`, so the log keeps one entry per HTTP request: a reset shows on the latency
 * chart as the call without an answer it was, and the resent request's latency is its own. The
 * retry sits outside the signing layer: a resent request is signed again, so with DPoP it carries
 * a new proof (a new `jti`) rather than the one the API may already have spent. The timeout sits
 * outside the retry: one deadline for the call, so a reset followed by a hung API still ends the
 * render in time.
 */
export function apiTransport(
  send: typeof fetch,
  authorize: (send: typeof fetch) => typeof fetch = (plain) => plain,
): typeof fetch {
  return withTimeout(retryOnReset(authorize(send)), apiTimeoutMs);
}

export interface ApiClientOptions {
  /** The API's tRPC endpoint. */
  url: string;
  /** How requests reach the API (with or without the M2M token). */
  fetch: typeof fetch;
  /** The id every HTTP request of the client carries as `x-request-id`; asked for each request. */
  requestId: () => string | Promise<string>;
}

/**
 * A typed tRPC client for apps/api whose every HTTP request carries `x-request-id`, so the API's
 * answer and log lines can be matched to the request of this server that caused them. A call made
 * with `{ context: { idempotencyKey } }` also sends that `Idempotency-Key`; the authorized fetch's
 * retry after a 401 resends the same request, key included, so the API writes at most once.
 */
export function createApiClient({ url, fetch, requestId }: ApiClientOptions) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url,
        fetch,
        headers: async ({ opList }) => {
          const key = opList.find((op) => typeof op.context.idempotencyKey === "string")?.context
            .idempotencyKey as string | undefined;
          return {
            [REQUEST_ID_HEADER]: await requestId(),
            ...(key === undefined ? {} : { [IDEMPOTENCY_KEY_HEADER]: key }),
          };
        },
      }),
    ],
  });
}

/** Every HTTP request carries the process's M2M token (see {@link getApiClient}). */
function authorizedTransport(): typeof fetch {
  return processSingleton("api-fetch", () => {
    const env = getWebEnv();
    const send = timedFetch(fetch, getApiCallLog(), env.API_URL);
    return apiTransport(send, (signed) =>
      createAuthorizedFetch(getTokenClient(), { fetch: signed }),
    );
  });
}

/**
 * The typed tRPC client for apps/api, one per page request (or action), so a batch never mixes the
 * calls of two requests and each carries its own request id. Every HTTP request carries the
 * process's M2M token (with `DPOP=on`, DPoP-bound with a fresh proof per request); a 401
 * `invalid_token` drops that token and the request is retried once with a new one. A query (GET)
 * whose keep-alive connection is reset before any answer is signed and sent once more.
 */
export const getApiClient = cache(() =>
  createApiClient({
    url: getWebEnv().API_URL,
    fetch: authorizedTransport(),
    requestId: getRequestId,
  }),
);

/**
 * A client without credentials for the API's public procedures (`health`), so the status page can
 * still reach the API when no token can be obtained.
 */
export const getPublicApiClient = cache(() => {
  const env = getWebEnv();
  return createApiClient({
    url: env.API_URL,
    fetch: processSingleton("public-api-fetch", () =>
      apiTransport(timedFetch(fetch, getApiCallLog(), env.API_URL)),
    ),
    requestId: getRequestId,
  });
});
