import { randomUUID } from "node:crypto";
import { startPrivateRedis } from "@repo/test-utils";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTokenServer, type TokenServer } from "../../test/support/token-server.js";
import { createClientCredentialsClient } from "./client-credentials-client.js";
import type { ClientCredentialsClientOptions } from "./client-options.js";
import { type RedisStoreOptions, redisStore } from "./redis-store.js";
import type { TokenClientEvent } from "./types.js";

const SHARED_REDIS = "redis://127.0.0.1:6379";
const cleanups: Array<() => Promise<void>> = [];
let admin: Redis;
let server: TokenServer;

beforeAll(async () => {
  admin = new Redis(SHARED_REDIS);
});
afterAll(async () => {
  await admin.quit();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshPrefix() {
  const prefix = `test:auth:${randomUUID()}:`;
  cleanups.push(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  });
  server = await startTokenServer();
  cleanups.push(server.close);
  return prefix;
}

function client(
  store: RedisStoreOptions,
  extra: Partial<ClientCredentialsClientOptions> = {},
  events: TokenClientEvent[] = [],
) {
  const tokens = createClientCredentialsClient({
    tokenEndpoint: server.tokenEndpoint,
    clientId: "svc",
    clientSecret: "svc-secret",
    audience: "https://api.example.local",
    store: redisStore(store),
    onEvent: (event) => events.push(event),
    ...extra,
  });
  cleanups.push(tokens.close);
  return tokens;
}

describe("redisStore", () => {
  it("lets several clients share one token request", async () => {
    const prefix = await freshPrefix();
    server.fallback = { kind: "token", delayMs: 100 };
    const clients = [1, 2, 3].map(() => client({ url: SHARED_REDIS, prefix }));
    const results = await Promise.all(
      clients.flatMap((c) => Array.from({ length: 100 }, () => c.getToken())),
    );
    expect(new Set(results)).toEqual(new Set(["token-1"]));
    expect(server.requests).toBe(1);
    expect(clients.map((c) => c.stats().tokenRequests).sort()).toEqual([0, 0, 1]);
    expect(clients[0]?.stats()).toMatchObject({ store: "redis", storeDegraded: false });
  });

  it("gives clients waiting on another's request the same error, without asking again, whatever their clocks say", async () => {
    const prefix = await freshPrefix();
    server.fallback = {
      kind: "json",
      status: 401,
      body: { error: "invalid_client" },
      delayMs: 100,
    };
    const [a, b] = [1, 2].map(() => client({ url: SHARED_REDIS, prefix }));
    // a process whose clock is ahead of the holder's
    const ahead = client({ url: SHARED_REDIS, prefix }, { now: () => Date.now() + 5_000 });
    const first = a?.getToken().catch((e: unknown) => e);
    await server.waitForRequests(1);
    const others = await Promise.all([b, ahead].map((c) => c?.getToken().catch((e: unknown) => e)));
    expect(await first).toMatchObject({ code: "ERR_TOKEN_ENDPOINT", error: "invalid_client" });
    for (const err of others) {
      expect(err).toMatchObject({
        code: "ERR_TOKEN_ENDPOINT",
        error: "invalid_client",
        status: 401,
      });
    }
    expect(server.requests).toBe(1);
  });

  it("takes over from a lock holder that died, once its lock lapses", async () => {
    const prefix = await freshPrefix();
    await client({ url: SHARED_REDIS, prefix }).getToken();
    const [tokenKey] = await admin.keys(`${prefix}*`);
    await admin.del(tokenKey ?? "");
    await admin.set(`${tokenKey}:lock`, "a process that crashed", "PX", 300);
    // no re-check before the test times out: only the lock's expiry can wake the survivor
    const survivor = client({ url: SHARED_REDIS, prefix, recheckInterval: 600_000 });
    expect(await survivor.getToken()).toBe("token-2");
    expect(await admin.exists(`${tokenKey}:lock`)).toBe(0);
    expect(server.requests).toBe(2);
  });

  it("keeps tokens with a TTL of their remaining lifetime minus the skew", async () => {
    const prefix = await freshPrefix();
    server.fallback = { kind: "token", expiresIn: 600 };
    await client({ url: SHARED_REDIS, prefix }, { refreshSkew: 60_000 }).getToken();
    const [key] = await admin.keys(`${prefix}*`);
    const ttl = await admin.pttl(key ?? "");
    expect(ttl).toBeGreaterThan(530_000);
    expect(ttl).toBeLessThanOrEqual(540_000);
  });

  it("encrypts tokens at rest when given a key", async () => {
    const prefix = await freshPrefix();
    const first = client({ url: SHARED_REDIS, prefix, encryptionKey: "shared secret" });
    const token = await first.getToken();
    const [key] = await admin.keys(`${prefix}*`);
    const raw = (await admin.get(key ?? "")) ?? "";
    expect(raw).not.toContain(token);
    expect(raw.startsWith("v1.")).toBe(true);
    const same = client({ url: SHARED_REDIS, prefix, encryptionKey: "shared secret" });
    expect(await same.getToken()).toBe(token);
    const wrong = client({ url: SHARED_REDIS, prefix, encryptionKey: "another secret" });
    expect(await wrong.getToken()).toBe("token-2");
  });

  it("invalidates a rejected token for every client, keeping a newer one", async () => {
    const prefix = await freshPrefix();
    const a = client({ url: SHARED_REDIS, prefix });
    const b = client({ url: SHARED_REDIS, prefix });
    const old = await a.getToken();
    await b.invalidate({ accessToken: old });
    const fresh = await b.getToken();
    expect(fresh).not.toBe(old);
    await a.invalidate({ accessToken: old });
    expect(await client({ url: SHARED_REDIS, prefix }).getToken()).toBe(fresh);
    expect(server.requests).toBe(2);
  });

  it("uses a client it is given and leaves it open", async () => {
    const prefix = await freshPrefix();
    const own = new Redis(SHARED_REDIS);
    const tokens = client({ client: own, prefix });
    await tokens.getToken();
    await tokens.close();
    expect(await own.ping()).toBe("PONG");
    await own.quit();
  });

  it("keeps storing tokens for a Redis user that may not publish (ACLs), without degrading", async () => {
    const prefix = await freshPrefix();
    const user = `no-publish-${randomUUID()}`;
    await admin.call("ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-publish");
    cleanups.push(async () => void (await admin.call("ACL", "DELUSER", user)));
    const events: TokenClientEvent[] = [];
    const tokens = client({ url: `redis://${user}:pw@127.0.0.1:6379`, prefix }, {}, events);
    const other = client({ url: SHARED_REDIS, prefix });
    const token = await tokens.getToken();
    expect(await other.getToken()).toBe(token);
    expect(server.requests).toBe(1);
    expect(events.filter((event) => event.type === "store_degraded")).toEqual([]);
  });

  it("falls back to memory while Redis is down, says so once, and recovers", async () => {
    const prefix = await freshPrefix();
    const redis = await startPrivateRedis();
    cleanups.push(redis.stop);
    const events: TokenClientEvent[] = [];
    const tokens = client({ url: redis.url, prefix, operationTimeout: 300 }, {}, events);
    expect(await tokens.getToken()).toBe("token-1");
    expect(tokens.stats().storeDegraded).toBe(false);

    await redis.stop();
    expect(await tokens.getToken({ forceRefresh: true })).toBe("token-2");
    expect(await tokens.getToken({ forceRefresh: true })).toBe("token-3");
    expect(await tokens.getToken()).toBe("token-3");
    expect(tokens.stats().storeDegraded).toBe(true);
    expect(events.filter((e) => e.type === "store_degraded")).toHaveLength(1);

    await redis.start();
    // the client reconnects on its own; each call finds out whether Redis answers again
    await expect
      .poll(
        async () => {
          await tokens.peekTokenSet({ audience: "https://other.example.local" });
          return tokens.stats().storeDegraded;
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe(false);
    expect(events.filter((e) => e.type === "store_recovered")).toHaveLength(1);
    expect(await tokens.getToken({ forceRefresh: true })).toBe("token-4");
    const probe = new Redis(redis.url);
    expect(await probe.keys(`${prefix}*`)).toHaveLength(1);
    await probe.quit();
  });

  it("works from memory when Redis is unreachable from the start", async () => {
    const prefix = await freshPrefix();
    const redis = await startPrivateRedis();
    await redis.stop();
    const events: TokenClientEvent[] = [];
    const tokens = client({ url: redis.url, prefix, operationTimeout: 300 }, {}, events);
    const results = await Promise.all(Array.from({ length: 50 }, () => tokens.getToken()));
    expect(new Set(results)).toEqual(new Set(["token-1"]));
    expect(server.requests).toBe(1);
    expect(tokens.stats()).toMatchObject({ store: "redis", storeDegraded: true });
    expect(events.filter((e) => e.type === "store_degraded")).toHaveLength(1);
  });
});
