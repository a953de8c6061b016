import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { type PrivateRedis, startPrivateRedis } from "./private-redis.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(): Promise<PrivateRedis> {
  const redis = await startPrivateRedis();
  cleanups.push(() => redis.stop());
  return redis;
}

function connect(url: string) {
  const client = new Redis(url, { maxRetriesPerRequest: 0, lazyConnect: true });
  client.on("error", () => {});
  cleanups.push(() => client.disconnect());
  return client;
}

describe("startPrivateRedis", () => {
  it("stops and comes back empty on the same port, never the shared 6379", async () => {
    const redis = await started();
    expect(redis.port).not.toBe(6379);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    const client = connect(redis.url);
    await client.set("k", "v");
    await redis.stop();
    expect(redis.isRunning()).toBe(false);
    await expect(client.get("k")).rejects.toThrow();
    await redis.start();
    expect(redis.isRunning()).toBe(true);
    expect(await connect(redis.url).get("k")).toBeNull();
  });

  it("starts on a port it is given, and says why when it cannot", async () => {
    const redis = await started();
    await expect(startPrivateRedis({ port: redis.port })).rejects.toThrow(/redis-server exited/);
  });
});
