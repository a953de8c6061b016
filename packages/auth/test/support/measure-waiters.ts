import { randomUUID } from "node:crypto";
import { startPrivateRedis } from "@repo/test-utils";
import { createClientCredentialsClient } from "../../src/token-client/client-credentials-client.js";
import { redisStore } from "../../src/token-client/redis-store.js";
import type { TokenStore } from "../../src/token-client/types.js";
import { type MonitoredCommand, monitorRedis } from "./redis-monitor.js";
import { startTokenServer } from "./token-server.js";

export interface WaitScenario {
  /** false: the client polls the store (as it does a store without `waitForChange`). */
  announce: boolean;
  /** How long the token endpoint takes, ms. */
  delayMs: number;
  /** Stores, each with its own Redis connections, as separate processes would have. */
  processes: number;
  /** Clients on each store: all but one of the clients wait for the one that requests. */
  clientsEach: number;
  recheckInterval?: number;
}

export interface WaitMeasurement {
  /** Commands the clients sent to Redis (a script counts once). */
  commands: number;
  gets: number;
  lockAttempts: number;
  /** Reads of the token after the holder stored it: one per waiter when each is told once. */
  rereads: number;
  /** How long after the holder stored the token each re-read came, ms of the Redis clock. */
  wakeMs: number[];
  tokenRequests: number;
  distinctTokens: number;
}

/**
 * Runs one refresh by a fleet of clients sharing a Redis store, on a Redis server and token
 * endpoint of its own, and reports what the waiting clients cost Redis.
 */
export async function measureWaiters(scenario: WaitScenario): Promise<WaitMeasurement> {
  const redis = await startPrivateRedis();
  const monitor = await monitorRedis(redis.url);
  const server = await startTokenServer();
  // The endpoint answers only once every client has tried the lock, so each waiter is really
  // waiting however slowly its connection came up on a busy machine.
  let allWaiting = (): void => {};
  const gate = new Promise<void>((resolve) => {
    allWaiting = resolve;
  });
  server.fallback = { kind: "token", delayMs: scenario.delayMs, gate };
  const prefix = `test:auth:${randomUUID()}:`;
  const options = { url: redis.url, prefix, recheckInterval: scenario.recheckInterval };
  const stores = Array.from({ length: scenario.processes }, () =>
    scenario.announce ? redisStore(options) : polled(redisStore(options)),
  );
  const clients = stores.flatMap((store) =>
    Array.from({ length: scenario.clientsEach }, () =>
      createClientCredentialsClient({
        tokenEndpoint: server.tokenEndpoint,
        clientId: "svc",
        clientSecret: "svc-secret",
        audience: "https://api.example.local",
        store,
      }),
    ),
  );
  try {
    const calls = Promise.all(clients.map((c) => c.getToken()));
    await monitor.until(
      (commands) =>
        countCommands(
          commands.filter((c) => c.source !== "lua"),
          "set",
          (k) => k.endsWith(":lock"),
        ) >= clients.length,
    );
    allWaiting();
    const tokens = await calls;
    await monitor.flush();
    return {
      ...summarize(monitor.commands, prefix),
      tokenRequests: server.requests,
      distinctTokens: new Set(tokens).size,
    };
  } finally {
    for (const c of clients) await c.close();
    await server.close();
    await monitor.stop();
    await redis.stop();
  }
}

/** The same store behind a wrapper without `waitForChange`, which the client polls. */
export function polled(store: TokenStore): TokenStore {
  return {
    kind: store.kind,
    get degraded() {
      return store.degraded;
    },
    get: (k) => store.get(k),
    set: (k, tokenSet, ttl) => store.set(k, tokenSet, ttl),
    delete: (k, accessToken) => store.delete(k, accessToken),
    lock: (k, ttl) => store.lock(k, ttl),
    getFailure: (k) => store.getFailure(k),
    setFailure: (k, failure, ttl) => store.setFailure(k, failure, ttl),
    listen: (listener) => store.listen?.(listener),
    close: () => store.close(),
  };
}

/** Whether a Redis key of the store under `prefix` holds a token (not a lock or a failure). */
export const isTokenKey = (prefix: string) => (key: string) =>
  key.startsWith(prefix) && !/:(lock|failure)$/.test(key);

export function countCommands(
  commands: readonly MonitoredCommand[],
  name: string,
  key: (k: string) => boolean = () => true,
): number {
  return commands.filter((c) => c.name === name && key(c.args[0] ?? "")).length;
}

function summarize(commands: readonly MonitoredCommand[], prefix: string) {
  const tokenKey = isTokenKey(prefix);
  const sent = commands.filter((c) => c.source !== "lua");
  const storedAt =
    commands.find((c) => c.name === "set" && tokenKey(c.args[0] ?? ""))?.at ?? Infinity;
  const rereads = sent.filter(
    (c) => c.name === "get" && tokenKey(c.args[0] ?? "") && c.at > storedAt,
  );
  return {
    commands: sent.length,
    gets: countCommands(sent, "get"),
    lockAttempts: countCommands(sent, "set", (k) => k.endsWith(":lock")),
    rereads: rereads.length,
    wakeMs: rereads.map((c) => c.at - storedAt),
  };
}
