import { startPrivateRedis, waitFor } from "@repo/test-utils";
import { Redis } from "ioredis";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import {
  classifyHomePage,
  classifyStatusPage,
  readStatusPage,
  type StatusView,
} from "../harness/html.js";
import { linesWithCredentials } from "../harness/leaks.js";
import { type CallRecord, startLoad, summarize } from "../harness/load.js";
import { sumSamples } from "../harness/prometheus.js";
import { rotateSigningKeys } from "../harness/rotate-keys.js";
import { type ChaosSystem, startSystem } from "../harness/system.js";
import { useTeardown } from "../harness/teardown.js";
import { AUDIENCE, chaosTenant, WRITER } from "../harness/tenant.js";
import { replaceTenant } from "../harness/tenant-file.js";
import { startColdWebApp, type WebApp } from "../harness/web-app.js";

const defer = useTeardown();

const FLEET = 3;
/** Page loads per instance in each burst, half `/` and half `/status`, all sent at once. */
const BURST = 20;
/**
 * Seconds. An instance refreshes 75–87.5 % into a token's life, so the key retirement (two
 * commands, one JWKS refresh of the API, one burst) fits well inside the renewed token's first 15 s.
 */
const TOKEN_LIFETIME = 20;
/** The web app's default `REDIS_KEY_PREFIX`. */
const PREFIX = "web:tokens:";

type Page = { status: number; html: string };

/** A page, or what its failure was (status 0), so one stuck page cannot hide the others. */
const load = (web: WebApp, path: string): Promise<Page> =>
  web.page(path).catch((error: Error) => ({ status: 0, html: error.name }));

/** Every instance's status page, read now, with what a person saw on it. */
const statusViews = (fleet: readonly WebApp[]) =>
  Promise.all(
    fleet.map(async (web) => {
      const page = await load(web, "/status");
      return { outcome: classifyStatusPage(page), ...readStatusPage(page.html) };
    }),
  );

/** `BURST` page loads on every instance at once: what each showed, and what the status pages said. */
async function burst(fleet: readonly WebApp[]) {
  const views: StatusView[] = [];
  const startedAt = Date.now();
  const records = await Promise.all(
    fleet.flatMap((web) =>
      Array.from({ length: BURST }, async (_, i): Promise<CallRecord> => {
        const path = i % 2 === 0 ? "/" : "/status";
        const page = await load(web, path);
        const ms = Date.now() - startedAt;
        if (path === "/") return { outcome: classifyHomePage(page), startedAt, ms };
        views.push(readStatusPage(page.html));
        return { outcome: classifyStatusPage(page), startedAt, ms };
      }),
    ),
  );
  return { ...summarize(records), views, ms: Math.max(...records.map((r) => r.ms)) };
}

/** The distinct token ids the views show. */
const jtis = (views: readonly Pick<StatusView, "claims">[]) => [
  ...new Set(views.map((view) => String(view.claims?.jti))),
];

const degradedEvents = (views: readonly StatusView[]) =>
  views.flatMap((view) => view.events).filter((event) => event === "store_degraded").length;

/** The token the fleet keeps in Redis (read by the test, never printed). */
async function storedToken(redis: Redis): Promise<string | undefined> {
  const keys = (await redis.keys(`${PREFIX}*`)).filter((key) => !/:(lock|failure)$/.test(key));
  if (keys.length !== 1) return undefined;
  const value = await redis.get(keys[0] ?? "");
  return value === null ? undefined : (JSON.parse(value) as { accessToken: string }).accessToken;
}

const rejectedVerifications = async (system: ChaosSystem) =>
  sumSamples(await system.api.metrics(), "api_token_verifications_total", { result: "rejected" });

describe("three web servers share their token through Redis", () => {
  it("ask the issuer once per token: from a cold start, at expiry, and after the signing key is retired", async () => {
    const startedAt = Date.now();
    const [system, redis] = await Promise.all([
      startSystem(defer, {
        tokenLifetime: TOKEN_LIFETIME,
        tuning: { cacheMaxAge: 2, cooldown: 1 },
      }),
      startPrivateRedis(),
    ]);
    defer(() => redis.stop());
    // RFC 9068 tokens carry a `jti`, so the status pages tell one token from another.
    const tenant = chaosTenant(TOKEN_LIFETIME);
    await replaceTenant(system, {
      ...tenant,
      apis: tenant.apis.map((api) => ({ ...api, tokenProfile: "rfc9068" })),
    });
    // Started together, as a deploy starts them; none has asked for a token when this resolves.
    const fleet = await Promise.all(
      Array.from({ length: FLEET }, () =>
        startColdWebApp({
          apiUrl: `${system.api.url}/trpc`,
          tokenEndpoint: `${system.proxy.url}${system.tokenPath}`,
          ...WRITER,
          audience: AUDIENCE,
          redisUrl: redis.url,
        }),
      ),
    );
    for (const web of fleet) defer(() => web.stop());
    const readyMs = Date.now() - startedAt;
    const inspector = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    defer(() => inspector.disconnect());
    const posts = () => system.proxy.count(system.tokenPath, "POST");

    // 1. Cold start: every instance renders at once with an empty cache.
    expect(posts()).toBe(0);
    const cold = await burst(fleet);
    const coldPosts = posts();
    const coldViews = await statusViews(fleet);
    const coldJtis = jtis(coldViews);
    const coldStored = await storedToken(inspector);
    // The fleet's token, the one kept in Redis.
    const firstJti = coldStored && String(decodeJwt(coldStored).jti);

    // 2. Expiry: a light load on every instance until all serve the renewed token.
    const loads = fleet.map((web) =>
      startLoad(async () => classifyHomePage(await web.page("/")), {
        concurrency: 1,
        pauseMs: 100,
      }),
    );
    for (const run of loads) defer(() => run.stop());
    const renewedViews = await waitFor(
      async () => {
        const views = await statusViews(fleet);
        const renewed = views.every(
          (view) => view.outcome === "200 status" && !coldJtis.includes(String(view.claims?.jti)),
        );
        return renewed ? views : undefined;
      },
      {
        timeout: (TOKEN_LIFETIME + 10) * 1000,
        interval: 250,
        message: "every instance to renew its token",
      },
    );
    const renewedAt = Date.now();
    const expiry = summarize(
      (await Promise.all(loads.map((run) => run.stop()))).flatMap((s) => s.records),
    );
    const expiryPosts = posts() - coldPosts;
    const [renewedJti] = jtis(renewedViews);
    const renewedStored = await storedToken(inspector);

    // 3. The key that signed the fleet's token is retired at once (rotate, then retire: what an
    // operator does after a key leaks). The API rejects the token every instance holds; each one
    // drops it and retries once.
    await rotateSigningKeys(system);
    await rotateSigningKeys(system, { retire: true });
    await waitFor(
      async () =>
        (
          await fetch(`${system.api.url}/trpc/whoami`, {
            headers: { authorization: `Bearer ${renewedStored}` },
          })
        ).status === 401,
      { timeout: 10_000, message: "the API to reject tokens of the retired key" },
    );
    const rejectedBefore = await rejectedVerifications(system);
    const postsBefore = posts();
    const retired = await burst(fleet);
    const retirePosts = posts() - postsBefore;
    const rejected = (await rejectedVerifications(system)) - rejectedBefore;
    const retiredViews = await statusViews(fleet);
    const [newJti] = jtis(retiredViews);
    const retiredStored = await storedToken(inspector);
    const perInstance = retiredViews.map((view) => view.tokenRequests ?? 0);

    console.info(
      `web fleet: ${FLEET} instances ready in ${readyMs} ms; cold burst ` +
        `${JSON.stringify(cold.outcomes)} in ${cold.ms} ms → ${coldPosts} token POST ` +
        `(store_degraded ${degradedEvents(coldViews)}); expiry: ${expiry.total} pages ` +
        `${JSON.stringify(expiry.outcomes)} → ${expiryPosts} POST; key retired: ` +
        `${JSON.stringify(retired.outcomes)} in ${retired.ms} ms, ${rejected} rejected → ` +
        `${retirePosts} POST, ${Date.now() - renewedAt} ms into the renewed token; POSTs per ` +
        `instance ${perInstance.join("/")}, total ${posts()}, ${Date.now() - startedAt} ms`,
    );

    // Cold start: every page with its data, one token for the fleet, the same one everywhere.
    const half = (FLEET * BURST) / 2;
    expect(cold.outcomes).toEqual({ "200 page": half, "200 status": half });
    // An instance whose event loop is starved past the store's 1 s timeout at cold start falls
    // back to memory and asks on its own (it says so with store_degraded); any other extra POST
    // is a failure of the shared store.
    // Such an instance shows its own token; every other one shows the fleet's.
    const sharing = coldViews.filter((view) => !view.events.includes("store_degraded"));
    expect(coldPosts, `store_degraded events: ${degradedEvents(coldViews)}`).toBe(
      1 + FLEET - sharing.length,
    );
    expect(sharing.length, "instances on the shared store").toBeGreaterThan(0);
    expect(coldViews.map((view) => view.outcome)).toEqual(Array(FLEET).fill("200 status"));
    expect(sharing.map((view) => view.store)).toEqual(Array(sharing.length).fill("Redis store"));
    expect(jtis([...(sharing.length === FLEET ? cold.views : []), ...sharing])).toEqual([firstJti]);
    expect(coldStored && decodeJwt(coldStored).jti).toBe(firstJti);

    // Expiry: pages served throughout, one refresh for the fleet, the same token everywhere.
    expect(expiry.outcomes).toEqual({ "200 page": expiry.total });
    expect(expiryPosts).toBe(1);
    expect(jtis(renewedViews)).toEqual([renewedJti]);
    expect(renewedViews.map((view) => view.store)).toEqual(Array(FLEET).fill("Redis store"));
    expect(renewedStored && decodeJwt(renewedStored).jti).toBe(renewedJti);

    // Retired key: every instance had its token rejected, retried, and all share one new token
    // signed by another key. (That the retry does not wait out the API timeout is asserted
    // without a clock in createAuthorizedFetch's tests; here the burst time is only printed.)
    expect(retired.outcomes).toEqual({ "200 page": half, "200 status": half });
    expect(rejected).toBeGreaterThanOrEqual(FLEET);
    expect(retirePosts).toBe(1);
    expect(jtis(retiredViews)).toHaveLength(1);
    expect([firstJti, renewedJti]).not.toContain(newJti);
    expect(retiredViews[0]?.header?.kid).not.toBe(renewedViews[0]?.header?.kid);
    expect(retiredStored && decodeJwt(retiredStored).jti).toBe(newJti);
    // The instances' own counters agree with what reached the issuer.
    expect(perInstance.reduce((sum, n) => sum + n, 0)).toBe(posts());

    const lines = [...system.logLines(), ...fleet.flatMap((web) => web.process.lines)];
    expect(linesWithCredentials(lines, [WRITER.clientSecret])).toEqual([]);
  });
});
