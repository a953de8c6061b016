import "server-only";
import {
  type ClientCredentialsClient,
  createClientCredentialsClient,
  memoryStore,
  type TokenClientEvent,
} from "@repo/auth";
import { redisStore } from "@repo/auth/redis";
import { getWebEnv } from "./env";
import { processSingleton } from "./process-singleton";

/** Recent token-client events for the status page; they never carry a token or secret. */
export interface TokenEventLog {
  readonly startedAt: number;
  recent(): { at: number; event: TokenClientEvent }[];
}

function createTokenEventLog(capacity = 20) {
  const entries: { at: number; event: TokenClientEvent }[] = [];
  return {
    startedAt: Date.now(),
    push(event: TokenClientEvent) {
      entries.push({ at: Date.now(), event });
      if (entries.length > capacity) entries.shift();
    },
    recent: () => [...entries],
  };
}

const events = () => processSingleton("token-events", () => createTokenEventLog());

export function getTokenEventLog(): TokenEventLog {
  return events();
}

/**
 * The process's one token client, built from the validated environment on first use. One client
 * means one cache and one in-flight request per token, however many requests render at once.
 */
export function getTokenClient(): ClientCredentialsClient {
  return processSingleton("token-client", () => {
    const env = getWebEnv();
    const log = events();
    return createClientCredentialsClient({
      ...(env.TOKEN_ENDPOINT
        ? { tokenEndpoint: env.TOKEN_ENDPOINT }
        : { issuerBaseURL: env.ISSUER_BASE_URL }),
      clientId: env.CLIENT_ID,
      clientSecret: env.CLIENT_SECRET,
      audience: env.AUDIENCE,
      store: env.REDIS_URL
        ? redisStore({ url: env.REDIS_URL, prefix: env.REDIS_KEY_PREFIX })
        : memoryStore(),
      // A page waits for these calls, so the budget is tighter than a worker's: fail within seconds
      // and explain, rather than hold the render for the library's default half minute.
      timeout: 5_000,
      retry: { maxAttempts: 3, maxElapsed: 6_000 },
      // DPOP=on: tokens bound to this process's key (RFC 9449), each API request with a new proof.
      dpop: env.DPOP === "on",
      onEvent: (event) => log.push(event),
    });
  });
}
