import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withTimeout } from "./with-timeout";

// An API that accepts every request and never answers: only a signal can end the call.
const hung = new Set<ServerResponse>();
const server = createServer((_req, res) => hung.add(res));
let url: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  for (const res of hung) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const LONG = 60_000;

describe("withTimeout", () => {
  it("ends a hung call at the deadline", async () => {
    await expect(withTimeout(fetch, 50)(url)).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("still hears the caller's abort given in init", async () => {
    const caller = new AbortController();
    const call = withTimeout(fetch, LONG)(url, { signal: caller.signal });
    caller.abort();
    await expect(call).rejects.toMatchObject({ name: "AbortError" });
  });

  it("still hears the caller's abort carried by a Request", async () => {
    const caller = new AbortController();
    const call = withTimeout(fetch, LONG)(new Request(url, { signal: caller.signal }), {});
    caller.abort();
    await expect(call).rejects.toMatchObject({ name: "AbortError" });
  });
});
