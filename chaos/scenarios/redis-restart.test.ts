import { startPrivateRedis, waitFor } from "@repo/test-utils";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { classifyHomePage, testIdText } from "../harness/html.js";
import { linesWithCredentials } from "../harness/leaks.js";
import { startLoad } from "../harness/load.js";
import { startSystem } from "../harness/system.js";
import { useTeardown } from "../harness/teardown.js";
import { AUDIENCE, WRITER } from "../harness/tenant.js";
import { startWebApp } from "../harness/web-app.js";

const defer = useTeardown();

const TOKEN_LIFETIME = 6;

describe("Redis stops and restarts under load", () => {
  it("the web app serves every page, falls back to memory, and goes back to Redis", async () => {
    // Short-lived tokens, so refreshes (the only time the store is written) happen during the outage.
    const system = await startSystem(defer, { tokenLifetime: TOKEN_LIFETIME });
    const redis = await startPrivateRedis();
    defer(() => redis.stop());
    const web = await startWebApp({
      apiUrl: `${system.api.url}/trpc`,
      tokenEndpoint: `${system.proxy.url}${system.tokenPath}`,
      ...WRITER,
      audience: AUDIENCE,
      redisUrl: redis.url,
    });
    defer(() => web.stop());
    const inspector = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    // Its reconnect attempts while Redis is down are expected; the store's own handling is tested.
    inspector.on("error", () => {});
    defer(() => inspector.disconnect());
    const storedTokens = async () => (await inspector.keys("*")).length;
    const storeBadge = async () => testIdText((await web.page("/status")).html, "store-kind");

    const load = startLoad(async () => classifyHomePage(await web.page("/")), {
      concurrency: 2,
      pauseMs: 50,
    });
    defer(() => load.stop());
    await waitFor(async () => load.records.length >= 5 && (await storedTokens()) > 0, {
      timeout: 30_000,
      message: "pages served and a token in Redis",
    });

    const stoppedAt = Date.now();
    await redis.stop();
    const degradedBadge = await waitFor(
      async () => {
        const badge = await storeBadge();
        return badge?.includes("degraded") ? badge : undefined;
      },
      { timeout: 20_000, interval: 250, message: "the status page to report the fallback" },
    );
    const degradedAt = Date.now();
    await waitFor(() => load.records.filter((r) => r.startedAt >= degradedAt).length >= 10, {
      timeout: 20_000,
      message: "pages while Redis is down",
    });

    const restartedAt = Date.now();
    await redis.start();
    const recoveredBadge = await waitFor(
      async () => {
        const badge = await storeBadge();
        return badge && !badge.includes("degraded") && (await storedTokens()) > 0
          ? badge
          : undefined;
      },
      { timeout: 20_000, interval: 250, message: "the token back in Redis" },
    );
    const recoveredAt = Date.now();
    const summary = await load.stop();
    const posts = system.proxy.count(system.tokenPath, "POST");
    const elapsed = (Date.now() - stoppedAt) / 1000;
    console.info(
      `redis restart: pages ${JSON.stringify(summary.outcomes)} (${
        summary.records.filter((r) => r.startedAt >= stoppedAt && r.startedAt < restartedAt).length
      } while Redis was down), badge "${degradedBadge}" → "${recoveredBadge}", back to Redis ` +
        `${recoveredAt - restartedAt} ms after restart, token POSTs ${posts}`,
    );

    expect(summary.outcomes).toEqual({ "200 page": summary.total });
    expect(degradedBadge).toContain("Redis");
    expect(recoveredBadge).toBe("Redis store");
    const lines = [...system.logLines(), ...web.process.lines];
    expect(linesWithCredentials(lines, [WRITER.clientSecret])).toEqual([]);
    // The fallback kept one token per lifetime: no request per page while Redis was away.
    expect(posts).toBeLessThanOrEqual(Math.ceil((elapsed + 10) / (TOKEN_LIFETIME * 0.75)) + 1);
  });
});
