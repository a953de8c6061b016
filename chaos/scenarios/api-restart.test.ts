import { connect } from "node:net";
import { freePort, waitFor } from "@repo/test-utils";
import { describe, expect, it } from "vitest";
import { classifyHomePage } from "../harness/html.js";
import { createHttpClient, trpcCall } from "../harness/http-client.js";
import { linesWithCredentials } from "../harness/leaks.js";
import { outcomesBetween, startLoad, summarize } from "../harness/load.js";
import { startSlowRequest } from "../harness/slow-request.js";
import { startSystem } from "../harness/system.js";
import { useTeardown } from "../harness/teardown.js";
import { AUDIENCE, WRITER } from "../harness/tenant.js";
import { startWebApp } from "../harness/web-app.js";

const defer = useTeardown();

/** When the API wrote a log line (pino's `time`, epoch ms on this machine's clock). */
const loggedAt = (line: string) => (JSON.parse(line) as { time: number }).time;

const refusesConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });

describe("the API is restarted (SIGTERM) under load", () => {
  it("finishes in-flight requests, the web app explains the outage, then everything recovers", async () => {
    // A fixed port, so the restarted API is where the web app expects it.
    const port = await freePort();
    const system = await startSystem(defer, { tokenLifetime: 600, apiPort: port });
    const web = await startWebApp({
      apiUrl: `${system.api.url}/trpc`,
      tokenEndpoint: `${system.proxy.url}${system.tokenPath}`,
      ...WRITER,
      audience: AUDIENCE,
    });
    defer(() => web.stop());
    const tokens = system.tokenClient();
    const token = await tokens.client.getToken();
    const authorization = `Bearer ${token}`;

    // The web app's server side calling the API directly, and a person reloading the page.
    const http = createHttpClient(4);
    defer(() => http.close());
    const calls = startLoad(
      async () => {
        const answer = await http.send({
          ...trpcCall(system.api.url, "whoami"),
          headers: { authorization },
        });
        return String(answer.status);
      },
      { concurrency: 4, pauseMs: 10 },
    );
    defer(() => calls.stop());
    const pages = startLoad(async () => classifyHomePage(await web.page("/")), {
      concurrency: 1,
      pauseMs: 100,
    });
    defer(() => pages.stop());
    await waitFor(() => calls.records.length >= 50 && pages.records.length >= 3, {
      timeout: 30_000,
      message: "warm-up",
    });

    const created = trpcCall(system.api.url, "items.create", "mutation", {
      name: "survives SIGTERM",
    });
    const slow = await startSlowRequest({
      url: created.url,
      headers: { ...created.headers, authorization },
      body: created.body ?? "",
    });
    // A full round trip on another connection: by then the server has read the slow request's headers.
    expect((await http.send({ ...trpcCall(system.api.url, "health") })).status).toBe(200);

    const oldApi = system.api;
    const terminatedAt = Date.now();
    const exited = oldApi.stop("SIGTERM");
    // Logged just before the API closes its listener: pages that ended earlier found it accepting.
    const stoppedAcceptingAt = loggedAt(
      await oldApi.process.waitForLine((line) => line.includes("shutting down"), 10_000),
    );
    await waitFor(() => refusesConnections(port), { message: "the API to stop accepting" });
    expect(oldApi.process.isRunning()).toBe(true);
    const inFlight = await slow.finish();
    const exit = await exited;

    await waitFor(
      () => pages.records.some((r) => r.startedAt > terminatedAt && r.outcome.includes("problem")),
      {
        timeout: 20_000,
        message: "the outage page",
      },
    );
    const newApi = await system.startApi(port);
    const readyAt = Date.now();
    const acceptingAgainAt = loggedAt(
      await newApi.process.waitForLine((line) => line.includes('"msg":"listening"')),
    );
    await waitFor(
      () => pages.records.some((r) => r.startedAt > readyAt && r.outcome === "200 page"),
      {
        timeout: 20_000,
        message: "the page to recover",
      },
    );
    await waitFor(
      () => calls.records.filter((r) => r.startedAt > readyAt && r.outcome === "200").length >= 20,
      {
        message: "calls to recover",
      },
    );
    const callSummary = await calls.stop();
    const pageSummary = await pages.stop();
    // Pages whose render fell wholly while the old API, or the new one, accepted connections.
    const pagesWhileAccepting = pageSummary.records.filter(
      (r) => r.startedAt + r.ms < stoppedAcceptingAt || r.startedAt > acceptingAgainAt,
    );
    const pageRecoveredAt = Math.min(
      ...pageSummary.records
        .filter((r) => r.startedAt > readyAt && r.outcome === "200 page")
        .map((r) => r.startedAt),
    );

    console.info(
      `API restart: in-flight ${inFlight.status}, exit ${JSON.stringify(exit)}, calls ` +
        `${JSON.stringify(callSummary.outcomes)}, pages ${JSON.stringify(pageSummary.outcomes)} ` +
        `(${pagesWhileAccepting.length} while the API accepted), down ` +
        `${readyAt - terminatedAt} ms, page recovered ${pageRecoveredAt - readyAt} ms after the API was ready`,
    );

    // The request that was half-sent at SIGTERM completed.
    expect(inFlight.status).toBe(200);
    expect(JSON.parse(inFlight.body)).toMatchObject({
      result: { data: { name: "survives SIGTERM" } },
    });
    expect(exit).toEqual({ code: 0, signal: null });
    // Every answered call was a 200; calls failed only to connect, and only while the API was down.
    // A call sent at the very moment SIGTERM closed its idle keep-alive connection can be reset
    // before the server read it (HTTP/1.1 has no way around that race): at most one per connection.
    const beforeSigterm = outcomesBetween(callSummary.records, 0, terminatedAt);
    expect(beforeSigterm["200"]).toBeGreaterThanOrEqual(50);
    expect(
      Object.keys(beforeSigterm).filter((o) => o !== "200" && o !== "error:ECONNRESET"),
    ).toEqual([]);
    expect(beforeSigterm["error:ECONNRESET"] ?? 0).toBeLessThanOrEqual(4);
    expect(outcomesBetween(callSummary.records, readyAt)).toEqual({ 200: expect.any(Number) });
    for (const outcome of Object.keys(callSummary.outcomes)) {
      expect(["200", "error:ECONNREFUSED", "error:ECONNRESET"]).toContain(outcome);
    }
    // Pages: the app with its data or the outage explanation, never an error page, another
    // problem or half a page; and the explanation only while the API did not accept connections
    // (a page whose render spans the moment it stopped can go either way).
    expect(pageSummary.outcomes).toEqual({
      "200 page": expect.any(Number),
      "200 problem:api-unreachable": expect.any(Number),
    });
    expect(pagesWhileAccepting.length).toBeGreaterThanOrEqual(4);
    expect(summarize(pagesWhileAccepting).outcomes).toEqual({ "200 page": expect.any(Number) });
    expect(newApi.process.pid).not.toBe(oldApi.process.pid);
    const lines = [...system.logLines(), ...web.process.lines];
    expect(linesWithCredentials(lines, [WRITER.clientSecret])).toEqual([]);
  });
});
