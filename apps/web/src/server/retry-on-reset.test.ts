import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ApiCallLog, createApiCallLog, timedFetch } from "./api-call-log";
import { retryOnReset } from "./retry-on-reset";

interface TestServer {
  readonly url: string;
  /** Method of every request that reached the server, in order. */
  readonly requests: string[];
}

const servers: ReturnType<typeof createServer>[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A server on 127.0.0.1; `handle` gets the 1-based number of the request. */
async function startServer(
  handle: (n: number, req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.method ?? "");
    handle(requests.length, req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`, requests };
}

/** An address where nothing listens any more: connections to it are refused. */
async function refusedUrl(): Promise<string> {
  const { url } = await startServer(() => {});
  const server = servers.pop();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  return url;
}

const answer = (res: ServerResponse) => res.end("ok");
/** Closes the connection without a byte of answer: undici reports "other side closed". */
const close = (req: IncomingMessage) => req.socket.destroy();
/** Resets the connection (TCP RST) without a byte of answer: the client reads ECONNRESET. */
const reset = (req: IncomingMessage) => req.socket.resetAndDestroy();

/** The wiring of api-client.ts: every attempt is logged, the retry decides on top. */
function client(url: string): { send: typeof fetch; log: ApiCallLog } {
  const log = createApiCallLog();
  return { send: retryOnReset(timedFetch(fetch, log, url)), log };
}

const attempts = (log: ApiCallLog) => log.recent().map((call) => call.status);

describe("retryOnReset", () => {
  it.each([
    ["closed", close],
    ["reset", reset],
  ])("sends a GET once more when its connection is %s before any answer", async (_, drop) => {
    const server = await startServer((n, req, res) => (n === 1 ? drop(req) : answer(res)));
    const { send, log } = client(server.url);

    const response = await send(`${server.url}/whoami`);

    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
    expect(server.requests).toEqual(["GET", "GET"]);
    expect(attempts(log)).toEqual([undefined, 200]);
  });

  it("resends a GET given as a Request (how the authorized fetch passes it) and a HEAD", async () => {
    const server = await startServer((n, req, res) => (n % 2 === 1 ? reset(req) : answer(res)));
    const { send } = client(server.url);

    const get = await send(new Request(`${server.url}/whoami`, { headers: { "x-probe": "1" } }));
    const head = await send(`${server.url}/health`, { method: "HEAD" });

    expect([get.status, head.status]).toEqual([200, 200]);
    expect(server.requests).toEqual(["GET", "GET", "HEAD", "HEAD"]);
  });

  it("never resends a POST: the server may already have applied it", async () => {
    const server = await startServer((n, req, res) => (n === 1 ? reset(req) : answer(res)));
    const { send, log } = client(server.url);

    await expect(
      send(new Request(`${server.url}/items.create`, { method: "POST", body: "{}" })),
    ).rejects.toMatchObject({ name: "TypeError", cause: { code: "ECONNRESET" } });

    expect(server.requests).toEqual(["POST"]);
    expect(attempts(log)).toEqual([undefined]);
  });

  it("does not retry a refused connection", async () => {
    const url = await refusedUrl();
    const { send, log } = client(url);

    await expect(send(`${url}/whoami`)).rejects.toMatchObject({
      cause: { code: "ECONNREFUSED" },
    });

    expect(attempts(log)).toEqual([undefined]);
  });

  it("does not retry an HTTP answer, whatever its status", async () => {
    const server = await startServer((_, __, res) => {
      res.statusCode = 503;
      res.end();
    });
    const { send } = client(server.url);

    expect((await send(`${server.url}/whoami`)).status).toBe(503);
    expect(server.requests).toEqual(["GET"]);
  });

  it("tries exactly twice when every connection is reset, then throws the fetch error as is", async () => {
    const server = await startServer((_, req) => reset(req));
    const { send, log } = client(server.url);

    const error = await send(`${server.url}/whoami`).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );

    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ message: "fetch failed", cause: { code: "ECONNRESET" } });
    expect(server.requests).toEqual(["GET", "GET"]);
    expect(attempts(log)).toEqual([undefined, undefined]);
  });

  it("does not retry once the caller has aborted", async () => {
    const caller = new AbortController();
    const server = await startServer((_, req) => {
      caller.abort();
      reset(req);
    });
    const { send, log } = client(server.url);

    await expect(send(`${server.url}/whoami`, { signal: caller.signal })).rejects.toMatchObject({
      name: "AbortError",
    });

    expect(server.requests).toEqual(["GET"]);
    expect(attempts(log)).toEqual([undefined]);
  });

  it("does not retry an aborted call even when the abort's reason looks like a reset", async () => {
    // fetch rejects with the abort's reason: the only way an aborted call can fail with a reset
    // code, so the only case where the signal, not the error, must stop the retry.
    const gone = Object.assign(new Error("the page's own client went away"), {
      code: "ECONNRESET",
    });
    const caller = new AbortController();
    const server = await startServer((_, req) => {
      caller.abort(gone);
      reset(req);
    });
    const { send, log } = client(server.url);

    await expect(send(new Request(`${server.url}/whoami`, { signal: caller.signal }))).rejects.toBe(
      gone,
    );

    expect(attempts(log)).toEqual([undefined]);
  });
});
