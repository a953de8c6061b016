import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiCallLog, proceduresOf, timedFetch } from "./api-call-log";

describe("proceduresOf", () => {
  it("reads the batched procedure names after the endpoint", () => {
    expect(
      proceduresOf(
        "http://api.local/trpc/whoami,items.list?batch=1&input=%7B%7D",
        "http://api.local/trpc",
      ),
    ).toEqual(["whoami", "items.list"]);
  });
});

describe("createApiCallLog", () => {
  it("keeps only the most recent calls, oldest first", () => {
    const log = createApiCallLog(2);
    for (const startedAt of [1, 2, 3]) {
      log.record({ startedAt, durationMs: 1, procedures: [], status: 200 });
    }
    expect(log.recent().map((call) => call.startedAt)).toEqual([2, 3]);
  });
});

describe("timedFetch", () => {
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.statusCode = 403;
      res.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("records answered calls with their status and duration from the injected clock", async () => {
    const log = createApiCallLog();
    let tick = 0;
    const fetchWithLog = timedFetch(fetch, log, endpoint, () => (tick += 7));
    const response = await fetchWithLog(`${endpoint}/items.create?batch=1`, { method: "POST" });
    expect(response.status).toBe(403);
    expect(log.recent()).toMatchObject([
      { procedures: ["items.create"], status: 403, durationMs: 7 },
    ]);
  });

  it("records calls that got no answer, then rethrows", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const log = createApiCallLog();
    const refused = `http://127.0.0.1:${port}/trpc`;
    await expect(timedFetch(fetch, log, refused)(`${refused}/health`)).rejects.toThrow(TypeError);
    expect(log.recent()).toMatchObject([{ procedures: ["health"], status: undefined }]);
  });
});
