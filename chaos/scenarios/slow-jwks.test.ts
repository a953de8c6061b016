import { waitFor } from "@repo/test-utils";
import { describe, expect, it } from "vitest";
import { createForger } from "../harness/forge-token.js";
import { createHttpClient, trpcCall } from "../harness/http-client.js";
import { linesWithCredentials } from "../harness/leaks.js";
import { startLoad } from "../harness/load.js";
import { startSystem } from "../harness/system.js";
import { useTeardown } from "../harness/teardown.js";
import { AUDIENCE, WRITER } from "../harness/tenant.js";

const defer = useTeardown();

// A timeout long enough that waiting for a hung fetch cannot hide in the noise of a busy machine.
const tuning = { cacheMaxAge: 1, maxStale: 60, cooldown: 1, timeout: 3 };

describe("the JWKS endpoint hangs", () => {
  it("does not delay requests with known keys; unknown kids fail after the timeout, not later", async () => {
    const system = await startSystem(defer, { tokenLifetime: 600, tuning });
    const http = createHttpClient(8);
    defer(() => http.close());
    const { access_token: token } = await system.issuer.requestToken({
      clientId: WRITER.clientId,
      audience: AUDIENCE,
    });
    const whoami = (bearer: string) =>
      http.send({
        ...trpcCall(system.api.url, "whoami"),
        headers: { authorization: `Bearer ${bearer}` },
      });
    const load = startLoad(async () => String((await whoami(token)).status), {
      concurrency: 2,
      pauseMs: 20,
    });
    defer(() => load.stop());
    await waitFor(() => load.records.length >= 20, { message: "warm-up calls" });

    system.proxy.setFault({ kind: "hang" }, system.jwksPath);
    const hungFrom = Date.now();
    const hung = () =>
      system.proxy.requests.filter((r) => r.path === system.jwksPath && r.fault === "hang").length;
    // Several background refreshes start (the cache ages out every second) and hang.
    await waitFor(() => hung() >= 2, { timeout: 15_000, message: "hanging JWKS refreshes" });

    const forger = await createForger();
    const unknownKid = async () => {
      const forged = await forger.sign({ issuer: system.issuer.issuer, audience: AUDIENCE });
      const startedAt = Date.now();
      const { status } = await whoami(forged);
      return { status, ms: Date.now() - startedAt };
    };
    const unknown = [await unknownKid(), await unknownKid()];
    const summary = await load.stop();

    const duringHang = summary.records.filter((r) => r.startedAt >= hungFrom);
    const slowestKnown = Math.max(...duringHang.map((r) => r.ms));
    const health = (await (await fetch(`${system.api.url}/trpc/health`)).json()) as {
      result: { data: { jwks: { state: string } } };
    };
    console.info(
      `slow JWKS: known-key calls ${JSON.stringify(summary.outcomes)} (${duringHang.length} while ` +
        `${hung()} refreshes hung, slowest ${slowestKnown} ms); unknown kids ` +
        `${JSON.stringify(unknown)}; key store ${health.result.data.jwks.state}`,
    );

    expect(summary.outcomes).toEqual({ 200: summary.total });
    expect(duringHang.length).toBeGreaterThanOrEqual(20);
    // A hung refresh would have delayed them by the full timeout.
    expect(slowestKnown).toBeLessThan((tuning.timeout * 1000) / 2);
    for (const { status, ms } of unknown) {
      expect(status).toBe(401);
      expect(ms).toBeLessThanOrEqual(tuning.timeout * 1000 + 1_000);
    }
    expect(health.result.data.jwks.state).toBe("stale");
    expect(linesWithCredentials(system.logLines())).toEqual([]);
  });
});
