import { waitFor } from "@repo/test-utils";
import { describe, expect, it } from "vitest";
import { linesWithCredentials } from "../harness/leaks.js";
import { startLoad } from "../harness/load.js";
import { startSystem } from "../harness/system.js";
import { useTeardown } from "../harness/teardown.js";
import { WRITER } from "../harness/tenant.js";

const defer = useTeardown();

describe("the issuer answers 429 with Retry-After and 503s", () => {
  it("the token client waits as told, sends no burst, and callers are served from cache while the token is valid", async () => {
    const system = await startSystem(defer, { tokenLifetime: 60 });
    let clockOffset = 0;
    const web = system.tokenClient({ refreshSkew: 15_000, now: () => Date.now() + clockOffset });

    const first = await web.client.getTokenSet();
    const labels = new Map([[first.accessToken, "T1"]]);
    const load = startLoad(
      async () => {
        const { accessToken } = await web.client.getTokenSet();
        if (!labels.has(accessToken)) labels.set(accessToken, `T${labels.size + 1}`);
        return labels.get(accessToken) ?? "?";
      },
      { concurrency: 20, pauseMs: 5 },
    );
    defer(() => load.stop());
    await waitFor(() => load.records.length >= 100, { message: "warm callers" });

    const faults = [
      { kind: "status", status: 429, retryAfter: 1 },
      { kind: "status", status: 429, retryAfter: 2 },
      { kind: "status", status: 503 },
    ] as const;
    system.proxy.queueFaults(system.tokenPath, faults);
    // Move the client's clock into the refresh window (45–52.5 s of 60), 7 s before expiry.
    clockOffset = first.issuedAt + 53_000 - Date.now();
    const faultsFrom = Date.now();

    const renewedAt = await waitFor(
      () => web.events.find((e) => e.type === "token_received" && e.at >= faultsFrom)?.at,
      { timeout: 15_000, message: "the refreshed token" },
    );
    await waitFor(() => load.records.filter((r) => r.outcome === "T2").length >= 100, {
      message: "callers on the new token",
    });
    const summary = await load.stop();

    const posts = system.proxy.requests.filter(
      (r) => r.method === "POST" && r.path === system.tokenPath,
    );
    const gaps = posts.slice(1).map((post, i) => post.at - (posts[i]?.at ?? 0));
    const waits = web.events.flatMap((e) => (e.type === "token_request_failed" ? [e.retryIn] : []));
    const slowest = Math.max(
      ...summary.records.filter((r) => r.startedAt >= faultsFrom).map((r) => r.ms),
    );
    console.info(
      `issuer throttling: outcomes ${JSON.stringify(summary.outcomes)}, POSTs ${posts.length} ` +
        `(${posts.map((p) => p.fault).join(", ")}), gaps ${gaps.join("/")} ms, retry waits ` +
        `${waits.join("/")} ms, renewed ${renewedAt - faultsFrom} ms after the refresh began, slowest call ${slowest} ms`,
    );

    // Every call got a token: the old one while the refresh was being refused, then the new one.
    expect(summary.outcomes).toEqual({ T1: expect.any(Number), T2: expect.any(Number) });
    // Once one caller had the new token, every later caller got it too.
    const firstNew = Math.min(
      ...summary.records.filter((r) => r.outcome === "T2").map((r) => r.startedAt + r.ms),
    );
    const afterRenewal = summary.records.filter((r) => r.startedAt > firstNew);
    expect(afterRenewal.length).toBeGreaterThan(0);
    expect(afterRenewal.every((r) => r.outcome === "T2")).toBe(true);
    // One request at a time, three refused, the fourth served: no burst from 20 callers.
    expect(posts.map((p) => p.fault)).toEqual(["pass", "status", "status", "status", "pass"]);
    // Retry-After honoured to the second (1 s, then 2 s), then jittered backoff (< 1 s window).
    expect(waits.slice(0, 2)).toEqual([1_000, 2_000]);
    expect(gaps[1]).toBeGreaterThanOrEqual(1_000);
    expect(gaps[2]).toBeGreaterThanOrEqual(2_000);
    expect(waits[2]).toBeLessThan(1_000);
    // Callers never waited on the refused refresh (it took over 3 s).
    expect(renewedAt - faultsFrom).toBeGreaterThanOrEqual(3_000);
    expect(slowest).toBeLessThan(1_000);
    expect(web.client.stats()).toMatchObject({ tokenRequests: 5, tokenRequestFailures: 3 });
    expect(linesWithCredentials(system.logLines(), [WRITER.clientSecret])).toEqual([]);
  });
});
