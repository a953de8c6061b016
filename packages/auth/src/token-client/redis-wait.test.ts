import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { startPrivateRedis } from "@repo/test-utils";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import {
  countCommands,
  isTokenKey,
  measureWaiters,
  type WaitMeasurement,
} from "../../test/support/measure-waiters.js";
import { monitorRedis } from "../../test/support/redis-monitor.js";
import { startTokenServer, type TokenServer } from "../../test/support/token-server.js";
import { createClientCredentialsClient } from "./client-credentials-client.js";
import type { ClientCredentialsClientOptions } from "./client-options.js";
import { TokenClientClosedError } from "./errors.js";
import { redisStore } from "./redis-store.js";
import type { TokenStore } from "./types.js";

/**
 * Longer than any test: with it as the re-check interval and the request timeout (hence the lock's
 * lifetime), a waiter can only be woken by an announcement.
 */
const NEVER = 600_000;
const worker = fileURLToPath(new URL("../../test/workers/subscriber-worker.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Redis server of the test's own, so that every command it counts is the test's. */
async function privateRedis() {
  const redis = await startPrivateRedis();
  cleanups.push(redis.stop);
  const monitor = await monitorRedis(redis.url);
  cleanups.push(monitor.stop);
  const admin = new Redis(redis.url);
  admin.on("error", () => {});
  cleanups.push(async () => admin.disconnect());
  return { url: redis.url, redis, monitor, admin, prefix: `test:auth:${randomUUID()}:` };
}

async function tokenServer() {
  const server = await startTokenServer();
  cleanups.push(server.close);
  return server;
}

function gate() {
  let open!: () => void;
  const closed = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { closed, open };
}

function tokenClient(
  server: TokenServer,
  store: TokenStore,
  extra: Partial<ClientCredentialsClientOptions> = {},
) {
  const tokens = createClientCredentialsClient({
    tokenEndpoint: server.tokenEndpoint,
    clientId: "svc",
    clientSecret: "svc-secret",
    audience: "https://api.example.local",
    store,
    ...extra,
  });
  cleanups.push(tokens.close);
  return tokens;
}

/** `processes` stores (a Redis connection each, as in separate processes), `clientsEach` clients on each. */
function fleet(
  server: TokenServer,
  processes: number,
  clientsEach: number,
  makeStore: () => TokenStore,
  extra: Partial<ClientCredentialsClientOptions> = {},
) {
  return Array.from({ length: processes }, makeStore).flatMap((store) =>
    Array.from({ length: clientsEach }, () => tokenClient(server, store, extra)),
  );
}

/** Takes a token, then leaves Redis as a process that died while refreshing it would. */
async function leaveDeadHolder(server: TokenServer, admin: Redis, url: string, prefix: string) {
  await tokenClient(server, redisStore({ url, prefix })).getToken();
  const [key = ""] = await admin.keys(`${prefix}*`);
  const sealed = (await admin.get(key)) ?? "";
  await admin.del(key);
  await admin.set(`${key}:lock`, "a process that died", "PX", NEVER);
  /** Puts the token back the way a process that announces nothing would. */
  const restore = () => admin.set(key, sealed, "PX", 60_000);
  return { restore };
}

// Wake latencies are left to bench/redis-wait.ts: with one fixed endpoint latency, polling looks
// as fast or as slow as the point of its schedule that latency happens to fall on.
const describeRun = ({ wakeMs: _, ...counts }: WaitMeasurement) => JSON.stringify(counts);

describe("waiting for a token another process is requesting", () => {
  it("19 waiters on 4 connections, endpoint taking 500 ms: each re-reads once, where polling re-reads until it finds the token", async () => {
    const scenario = { processes: 4, clientsEach: 5, delayMs: 500 };
    const polled = await measureWaiters({ ...scenario, announce: false });
    const announced = await measureWaiters({ ...scenario, announce: true, recheckInterval: NEVER });
    console.info(
      `redis waiters: polled ${describeRun(polled)}, announced ${describeRun(announced)}`,
    );
    expect(polled).toMatchObject({ tokenRequests: 1, distinctTokens: 1 });
    // Whatever the endpoint's latency: the holder reads the token and failure keys twice, each
    // waiter reads them once before waiting and the token once when told it is there.
    expect(announced).toMatchObject({
      tokenRequests: 1,
      distinctTokens: 1,
      rereads: 19,
      lockAttempts: 20,
      gets: 4 + 19 * 3,
    });
  });

  it("keeps one subscriber per store, wakes each waiter once, and close() ends the subscriptions", async () => {
    const { url, prefix, monitor, admin } = await privateRedis();
    const server = await tokenServer();
    const endpoint = gate();
    server.fallback = { kind: "token", gate: endpoint.closed };
    const options = { url, prefix, recheckInterval: NEVER };
    const clients = fleet(server, 4, 5, () => redisStore(options), { timeout: NEVER });
    const calls = clients.map((c) => Promise.all([c.getToken(), c.getToken()]));
    await server.waitForRequests(1);
    await monitor.until((commands) => countCommands(commands, "pttl") >= 19);

    const [channel = ""] = (await admin.pubsub("CHANNELS")) as string[];
    expect(await admin.pubsub("NUMSUB", channel)).toEqual([channel, 4]);
    await monitor.flush();
    const waitedAt = monitor.commands.length;
    endpoint.open();
    expect(new Set((await Promise.all(calls)).flat())).toEqual(new Set(["token-1"]));
    expect(server.requests).toBe(1);
    await monitor.flush();
    const afterwards = monitor.commands.slice(waitedAt);
    expect(countCommands(afterwards, "get", isTokenKey(prefix))).toBe(19);
    expect(countCommands(monitor.commands, "pttl")).toBe(19);

    for (const c of clients) await c.close();
    expect(await admin.pubsub("NUMSUB", channel)).toEqual([channel, 0]);
  });

  it("wakes waiters with the holder's error", async () => {
    const { url, prefix, monitor } = await privateRedis();
    const server = await tokenServer();
    const endpoint = gate();
    server.fallback = {
      kind: "json",
      status: 401,
      body: { error: "invalid_client" },
      gate: endpoint.closed,
    };
    const options = { url, prefix, recheckInterval: NEVER };
    const clients = fleet(server, 2, 3, () => redisStore(options), { timeout: NEVER });
    const calls = clients.map((c) => c.getToken().catch((e: unknown) => e));
    await monitor.until((commands) => countCommands(commands, "pttl") >= 5);
    endpoint.open();
    for (const err of await Promise.all(calls)) {
      expect(err).toMatchObject({ code: "ERR_TOKEN_ENDPOINT", error: "invalid_client" });
    }
    expect(server.requests).toBe(1);
  });

  it("re-reads on the re-check interval when an announcement is lost", async () => {
    const { url, prefix, monitor, admin } = await privateRedis();
    const server = await tokenServer();
    const { restore } = await leaveDeadHolder(server, admin, url, prefix);
    const waiter = tokenClient(server, redisStore({ url, prefix, recheckInterval: 20 }));
    const waiting = waiter.getToken();
    await monitor.until((commands) => countCommands(commands, "pttl") >= 1);
    await restore();
    expect(await waiting).toBe("token-1");
    expect(server.requests).toBe(1);
  });

  it("re-reads when its subscriber connection drops, since announcements may have been lost", async () => {
    const { url, prefix, monitor, admin } = await privateRedis();
    const server = await tokenServer();
    const { restore } = await leaveDeadHolder(server, admin, url, prefix);
    const waiter = tokenClient(server, redisStore({ url, prefix, recheckInterval: NEVER }));
    const waiting = waiter.getToken();
    await monitor.until((commands) => countCommands(commands, "pttl") >= 1);
    await restore();
    await admin.client("KILL", "TYPE", "pubsub");
    expect(await waiting).toBe("token-1");
    expect(server.requests).toBe(1);
  });

  it("close() rejects a waiting caller and ends the subscription", async () => {
    const { url, prefix, monitor, admin } = await privateRedis();
    const server = await tokenServer();
    await leaveDeadHolder(server, admin, url, prefix);
    const waiter = tokenClient(server, redisStore({ url, prefix, recheckInterval: NEVER }));
    const waiting = waiter.getToken();
    await monitor.until((commands) => countCommands(commands, "pttl") >= 1);
    await waiter.close();
    await expect(waiting).rejects.toBeInstanceOf(TokenClientClosedError);
    expect(await admin.pubsub("NUMSUB", `${prefix}changed`)).toEqual([`${prefix}changed`, 0]);
  });

  it("lets clients sharing a store wait on its memory fallback while Redis is down", async () => {
    const { redis, url, prefix } = await privateRedis();
    await redis.stop();
    const server = await tokenServer();
    server.fallback = { kind: "token", delayMs: 50 };
    const store = redisStore({ url, prefix, operationTimeout: 300, recheckInterval: NEVER });
    const clients = fleet(server, 1, 3, () => store, { timeout: NEVER });
    const tokens = await Promise.all(clients.map((c) => c.getToken()));
    expect(new Set(tokens)).toEqual(new Set(["token-1"]));
    expect(server.requests).toBe(1);
    expect(store.degraded).toBe(true);
  });

  it("never keeps a process alive through its subscriber", async () => {
    const { url, prefix } = await privateRedis();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=@repo/source", worker],
      {
        cwd: repoRoot,
        env: { ...process.env, REDIS_URL: url, PREFIX: prefix },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill();
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = await once(child, "exit");
    expect({ code, output }).toEqual({ code: 0, output: "woken, subscribed: 1\n" });
  });
});
