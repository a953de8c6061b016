import { waitFor } from "@repo/test-utils";
import { describe, expect, it } from "vitest";
import type { ApiApp } from "../harness/api-app.js";
import { createHttpClient, trpcCall } from "../harness/http-client.js";
import { linesWithCredentials } from "../harness/leaks.js";
import { startLoad } from "../harness/load.js";
import { startSystem } from "../harness/system.js";
import { useTeardown } from "../harness/teardown.js";
import { WRITER } from "../harness/tenant.js";

const defer = useTeardown();

// Calls each instance answers after its log output broke. 4 000 request lines (about 1 MB) are
// more than a pipe and its socket buffers hold: an API writing its log synchronously would have
// blocked long before.
const CALLS_AFTER_BREAK = 4_000;
// The API's SHUTDOWN_TIMEOUT (10 s by default), its one-second exit deadline, and a margin.
const STOP_GRACE_MS = 15_000;

describe("the API's log output breaks under load", () => {
  it("a fleet whose log readers go away or stall keeps answering and stops on SIGTERM", async () => {
    const system = await startSystem(defer, { tokenLifetime: 600 });
    const [broken, stalled] = await Promise.all([system.startApi(), system.startApi()]);
    const fleet: Record<string, ApiApp> = { intact: system.api, broken, stalled };
    const token = await system.tokenClient().client.getToken();
    const authorization = `Bearer ${token}`;

    const http = createHttpClient(12);
    defer(() => http.close());
    const names = Object.keys(fleet);
    let next = 0;
    // Each call goes to the next instance, alternating a protected query and a batch with it.
    const calls = startLoad(
      async () => {
        const name = names[next++ % names.length] as string;
        const api = fleet[name] as ApiApp;
        const url =
          next % 2 === 0
            ? trpcCall(api.url, "whoami").url
            : `${api.url}/trpc/health,whoami?batch=1&input=%7B%7D`;
        const answer = await http.send({ url, headers: { authorization } });
        return `${name} ${answer.status}`;
      },
      { concurrency: 9 },
    );
    defer(() => calls.stop());
    const answered = (name: string, since = 0) =>
      calls.records.filter((r) => r.startedAt >= since && r.outcome === `${name} 200`).length;
    await waitFor(() => names.every((name) => answered(name) >= 100), {
      timeout: 30_000,
      message: "warm-up",
    });

    // The broken instance's reader goes away (EPIPE), the stalled one's stops reading.
    const brokeAt = Date.now();
    broken.process.closeOutput();
    stalled.process.stallOutput();
    await waitFor(() => names.every((name) => answered(name, brokeAt) >= CALLS_AFTER_BREAK), {
      timeout: 90_000,
      message: `${CALLS_AFTER_BREAK} answers from each instance after the break`,
    });
    const summary = await calls.stop();

    const stopping = Date.now();
    const exits = await Promise.all(
      names.map(async (name) => {
        const status = await (fleet[name] as ApiApp).process.stop("SIGTERM", STOP_GRACE_MS);
        return { name, ...status, ms: Date.now() - stopping };
      }),
    );

    console.info(
      `log output broken under load: calls ${JSON.stringify(summary.outcomes)}, after the break ` +
        `${names.map((name) => `${name} ${answered(name, brokeAt)}`).join(", ")}; exits ` +
        JSON.stringify(exits),
    );

    // Every call of every instance answered 200, before and after its output broke.
    expect(Object.keys(summary.outcomes).sort()).toEqual(names.map((name) => `${name} 200`).sort());
    // SIGTERM stopped each one gracefully, well before it would have been killed.
    for (const exit of exits) {
      expect(exit, exit.name).toMatchObject({ code: 0, signal: null });
      expect(exit.ms, exit.name).toBeLessThan(STOP_GRACE_MS);
    }
    expect(linesWithCredentials(system.logLines(), [WRITER.clientSecret])).toEqual([]);
  });
});
