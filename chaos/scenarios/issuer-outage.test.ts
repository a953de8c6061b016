import { waitFor } from "@repo/test-utils";
import { describe, expect, it } from "vitest";
import { classifyHomePage } from "../harness/html.js";
import { createHttpClient, trpcCall } from "../harness/http-client.js";
import { linesWithCredentials } from "../harness/leaks.js";
import { outcomesBetween, outcomesDoneBetween, startLoad } from "../harness/load.js";
import { startSystem } from "../harness/system.js";
import { useTeardown } from "../harness/teardown.js";
import { AUDIENCE, READER, WRITER } from "../harness/tenant.js";
import { startWebApp } from "../harness/web-app.js";

const defer = useTeardown();

const tuning = { cacheMaxAge: 2, maxStale: 3, cooldown: 1, timeout: 1 };

describe("the issuer goes down for longer than the key cache age", () => {
  it("keeps accepting known keys up to the stale bound, then 503 + Retry-After (never 401); both sides recover without a restart", async () => {
    const system = await startSystem(defer, { tokenLifetime: 60, tuning });
    // The web app's server side: its token client, on a clock the test can move forward so the
    // token's refresh falls inside the outage without waiting 45 s.
    let clockOffset = 0;
    const web = system.tokenClient({
      refreshSkew: 15_000,
      retry: { maxDelay: 1_000 },
      now: () => Date.now() + clockOffset,
    });
    // The real web app too (as the reader client, so its token requests are its own): a person
    // reloading the home page throughout.
    const site = await startWebApp({
      apiUrl: `${system.api.url}/trpc`,
      tokenEndpoint: `${system.proxy.url}${system.tokenPath}`,
      ...READER,
      audience: AUDIENCE,
    });
    defer(() => site.stop());
    const pages = startLoad(async () => classifyHomePage(await site.page("/")), {
      concurrency: 1,
      pauseMs: 200,
    });
    defer(() => pages.stop());
    const http = createHttpClient(4);
    defer(() => http.close());
    const retryAfters: (string | undefined)[] = [];
    const load = startLoad(
      async () => {
        const token = await web.client.getToken();
        const answer = await http.send({
          ...trpcCall(system.api.url, "whoami"),
          headers: { authorization: `Bearer ${token}` },
        });
        if (answer.status === 503) {
          retryAfters.push(answer.headers["retry-after"] as string);
          // Our dependency is down, the caller's credentials are fine: no challenge (RFC 6750).
          if (answer.headers["www-authenticate"] !== undefined) return "503 with a challenge";
        }
        return String(answer.status);
      },
      { concurrency: 2, pauseMs: 20 },
    );
    defer(() => load.stop());
    const count = (outcome: string, since = 0) =>
      load.records.filter((r) => r.outcome === outcome && r.startedAt >= since).length;

    await waitFor(() => count("200") >= 20 && pages.records.length >= 2, {
      timeout: 30_000,
      message: "warm-up calls and pages",
    });
    const down = Date.now();
    await system.proxy.refuse();
    await system.issuer.stop();

    await waitFor(() => count("503", down) >= 1, { timeout: 15_000, message: "the first 503" });
    // Calls complete out of order: this is refined from the full record below.
    let first503 = Math.min(
      ...load.records.filter((r) => r.outcome === "503").map((r) => r.startedAt),
    );
    await waitFor(() => count("503", down) >= 10, { message: "steady 503s" });
    expect((await fetch(`${system.api.url}/readyz`)).status).toBe(503);

    // The web app's token becomes due for refresh (45–52.5 s into its 60 s) while the issuer is
    // still down, with 7 s of validity left.
    const cached = await web.client.peekTokenSet();
    if (!cached) throw new Error("the web app has no cached token");
    clockOffset = cached.issuedAt + 53_000 - Date.now();
    await waitFor(() => web.events.some((e) => e.type === "refresh_failed"), {
      message: "a failed background refresh",
    });
    // At least one page loaded well after the keys went down, to see what a person sees then.
    await waitFor(() => pages.records.some((r) => r.startedAt >= first503 + 1_000), {
      timeout: 15_000,
      message: "a page while the keys are unavailable",
    });
    // Until here the issuer was unreachable for sure (the proxy refuses until accept() below).
    const lastDownAt = Date.now();
    await system.issuer.start();
    const back = Date.now();
    await system.proxy.accept();
    await waitFor(() => count("200", back) >= 1, { timeout: 10_000, message: "API recovery" });
    const apiRecoveredAt = Math.min(
      ...load.records
        .filter((r) => r.outcome === "200" && r.startedAt >= back)
        .map((r) => r.startedAt),
    );
    const tokenRecoveredAt = await waitFor(
      () => web.events.find((e) => e.type === "token_received" && e.at >= back)?.at,
      { timeout: 10_000, message: "a new token after the outage" },
    );
    await waitFor(() => count("200", tokenRecoveredAt) >= 10, {
      message: "calls with the new token",
    });
    await waitFor(
      () => pages.records.some((r) => r.startedAt >= back && r.outcome === "200 page"),
      {
        timeout: 10_000,
        message: "the page to recover",
      },
    );
    const summary = await load.stop();
    const pageSummary = await pages.stop();

    first503 = Math.min(
      ...summary.records.filter((r) => r.outcome === "503").map((r) => r.startedAt),
    );
    const staleFor = first503 - down;
    console.info(
      `issuer outage: outcomes ${JSON.stringify(summary.outcomes)}, stale keys served for ${staleFor} ms, ` +
        `API recovered in ${apiRecoveredAt - back} ms, token in ${tokenRecoveredAt - back} ms, ` +
        `token POSTs ${system.proxy.count(system.tokenPath, "POST")}, pages ${JSON.stringify(pageSummary.outcomes)}`,
    );

    // Only successes and 503s: the outage never turned into "invalid token", and the web app
    // always had a token to send.
    expect(Object.keys(summary.outcomes).sort()).toEqual(["200", "503"]);
    expect(outcomesBetween(summary.records, down, first503)).toEqual({
      200: expect.any(Number),
    });
    // (Two calls a few ms apart may reach the API in either order: leave 100 ms at the bound.)
    expect(outcomesBetween(summary.records, first503 + 100, lastDownAt)).toEqual({
      503: expect.any(Number),
    });
    // Known keys kept working past the cache age, and stopped by the stale bound (+ slack).
    expect(staleFor).toBeGreaterThanOrEqual(tuning.cacheMaxAge * 1000);
    expect(staleFor).toBeLessThanOrEqual((tuning.cacheMaxAge + tuning.maxStale + 2) * 1000);
    expect(retryAfters.length).toBe(summary.outcomes["503"]);
    for (const value of retryAfters) expect(Number(value)).toBeGreaterThan(0);
    // Recovery within one refresh (cooldown + fetch), with the same processes.
    expect(apiRecoveredAt - back).toBeLessThanOrEqual(
      (tuning.cooldown + tuning.timeout + 1) * 1000,
    );
    expect(system.api.process.isRunning()).toBe(true);
    expect((await fetch(`${system.api.url}/readyz`)).status).toBe(200);
    // One token before the outage and one refresh after it for the web side's client, one token
    // for the web app: no burst when the issuer came back.
    expect(system.proxy.count(system.tokenPath, "POST")).toBe(3);
    // The web app rendered with its cached token while the issuer was down, explained the 503s
    // (keys unavailable, not "unauthorized"), and recovered without a restart.
    // A page renders for a while: count those that were over before the first 503 (with the same
    // 100 ms allowance as the API calls), not one whose API call came after the stale bound.
    const pagesWhileStale = outcomesDoneBetween(pageSummary.records, down, first503 - 100);
    expect(pagesWhileStale).toEqual({ "200 page": expect.any(Number) });
    const pagesWhileDown = outcomesBetween(pageSummary.records, first503 + 1_000, lastDownAt);
    expect(Object.keys(pagesWhileDown)).toEqual(["200 problem:api-keys-unavailable"]);
    expect(site.process.isRunning()).toBe(true);
    // What the outage made the web app and the API log: no token, no client secret.
    const secrets = [READER.clientSecret, WRITER.clientSecret];
    expect(linesWithCredentials(site.process.lines, secrets)).toEqual([]);
    expect(linesWithCredentials(system.logLines(), secrets)).toEqual([]);
    expect(web.client.stats().tokenRequestFailures).toBeGreaterThan(0);
    // The refresh came back within one retry delay of the failed refresh (maxDelay 1 s).
    expect(tokenRecoveredAt - back).toBeLessThanOrEqual(3_000);
  });
});
