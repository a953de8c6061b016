import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ServerSentEvent } from "./event-stream-parser.js";
import { EventStreamError, readEventStream } from "./read-event-stream.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real SSE server answering each connection with the next handler (the last one repeats). */
async function startServer(handlers: Handler[]) {
  const seen: { authorization: string | undefined; lastEventId: string | undefined }[] = [];
  const server = createServer((req, res) => {
    seen.push({
      authorization: req.headers.authorization,
      lastEventId: req.headers["last-event-id"] as string | undefined,
    });
    const handler = handlers[Math.min(seen.length - 1, handlers.length - 1)] as Handler;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const stream = (res: ServerResponse, text: string, end: "end" | "destroy" | "open") => {
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.write(text, () => {
    if (end === "end") res.end();
    if (end === "destroy") res.destroy();
  });
};

/** A fetch that sends `token-<n>` on its n-th call, as a token client would after renewing. */
function tokenFetch() {
  let calls = 0;
  const fetchWithToken: typeof fetch = (input, init) => {
    calls += 1;
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer token-${calls}`);
    return fetch(input, { ...init, headers });
  };
  return fetchWithToken;
}

async function collect(events: AsyncIterable<ServerSentEvent>, count: number) {
  const seen: ServerSentEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    if (seen.length === count) break;
  }
  return seen;
}

describe("readEventStream", () => {
  it("reconnects after an end and a drop with Last-Event-ID and a fresh token each time", async () => {
    const server = await startServer([
      (_req, res) => stream(res, 'id: 1\ndata: a\n\ndata: {"type":"token_expired"}\n\n', "end"),
      // Dropped in the middle of event 3: it was not received, so the reconnect asks after 2.
      (_req, res) => stream(res, "id: 2\ndata: b\n\nid: 3\ndata: c", "destroy"),
      (_req, res) => stream(res, "id: 3\ndata: c\n\nid: 4\ndata: d\n\n", "open"),
    ]);
    servers.push(server);
    const events = await collect(
      readEventStream({ url: server.url, fetch: tokenFetch(), reconnectDelay: 1 }),
      5,
    );
    expect(events.map((event) => [event.lastEventId, event.data])).toEqual([
      ["1", "a"],
      ["1", '{"type":"token_expired"}'],
      ["2", "b"],
      ["3", "c"],
      ["4", "d"],
    ]);
    expect(server.seen).toEqual([
      { authorization: "Bearer token-1", lastEventId: undefined },
      { authorization: "Bearer token-2", lastEventId: "1" },
      { authorization: "Bearer token-3", lastEventId: "2" },
    ]);
  });

  it("starts after the lastEventId it is given", async () => {
    const server = await startServer([(_req, res) => stream(res, "id: 9\ndata: x\n\n", "open")]);
    servers.push(server);
    await collect(readEventStream({ url: server.url, fetch, lastEventId: "8" }), 1);
    expect(server.seen[0]?.lastEventId).toBe("8");
  });

  it("waits out a 429 or 503 and tries again", async () => {
    const server = await startServer([
      (_req, res) => res.writeHead(429, { "retry-after": "0" }).end("{}"),
      (_req, res) => res.writeHead(503).end(),
      (_req, res) => stream(res, "data: ok\n\n", "open"),
    ]);
    servers.push(server);
    const statuses: (number | undefined)[] = [];
    const [event] = await collect(
      readEventStream({
        url: server.url,
        fetch,
        reconnectDelay: 1,
        onConnection: (info) => {
          if (info.type === "reconnecting") statuses.push(info.status);
        },
      }),
      1,
    );
    expect(event?.data).toBe("ok");
    expect(statuses).toEqual([429, 503]);
  });

  it("stops with a typed error on a refusal that retrying cannot fix", async () => {
    const challenge = 'Bearer realm="api", error="insufficient_scope", scope="read:items"';
    const cases: [Handler, number][] = [
      [(_req, res) => res.writeHead(403, { "www-authenticate": challenge }).end(), 403],
      [(_req, res) => res.writeHead(401, { "www-authenticate": 'Bearer realm="api"' }).end(), 401],
      [(_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"), 200],
    ];
    for (const [handler, status] of cases) {
      const server = await startServer([handler]);
      servers.push(server);
      const error = await collect(readEventStream({ url: server.url, fetch }), 1).catch(
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(EventStreamError);
      expect((error as EventStreamError).code).toBe("ERR_EVENT_STREAM_REFUSED");
      expect((error as EventStreamError).status).toBe(status);
      if (status === 403) expect((error as EventStreamError).challenge).toBe(challenge);
    }
  });

  it("replaces a connection that stays silent past idleTimeout", async () => {
    const server = await startServer([
      (_req, res) => stream(res, "id: 1\ndata: a\n\n", "open"),
      (_req, res) => stream(res, "id: 2\ndata: b\n\n", "open"),
    ]);
    servers.push(server);
    const events = await collect(
      readEventStream({ url: server.url, fetch, idleTimeout: 50, reconnectDelay: 1 }),
      2,
    );
    expect(events.map((event) => event.data)).toEqual(["a", "b"]);
    expect(server.seen[1]?.lastEventId).toBe("1");
  });

  it("ends when its signal aborts, and on a 204", async () => {
    const open = await startServer([(_req, res) => stream(res, "data: a\n\n", "open")]);
    const noMore = await startServer([(_req, res) => res.writeHead(204).end()]);
    servers.push(open, noMore);
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const event of readEventStream({
      url: open.url,
      fetch,
      signal: controller.signal,
    })) {
      seen.push(event.data);
      controller.abort();
    }
    expect(seen).toEqual(["a"]);
    expect(await collect(readEventStream({ url: noMore.url, fetch }), 1)).toEqual([]);
  });
});
