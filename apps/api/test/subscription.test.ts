import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_CREDENTIALS_CHALLENGE } from "./fixtures/challenges.js";
import { type SignedApi, startSignedApi } from "./fixtures/signed-api.js";
import { openItemStream } from "./fixtures/sse-stream.js";
import { callTrpc, metricValue } from "./fixtures/test-api.js";
import { waitFor } from "./fixtures/wait-for.js";

// items.onChange over real HTTP: the gate decides auth before the stream opens, changes arrive
// with ids, and a reconnect with Last-Event-ID gets exactly the changes it missed.
let server: SignedApi;
let reader: string;
let writer: string;

beforeAll(async () => {
  server = await startSignedApi({}, { MAX_STREAMS_PER_CLIENT: "200" });
  reader = await server.bearer({ scope: "read:items" });
  writer = await server.bearer({ scope: "read:items write:items" });
});

afterAll(async () => {
  await server?.close();
});

const create = async (name: string) => {
  const answer = await callTrpc(server.api, "items.create", {
    authorization: writer,
    method: "POST",
    input: { name },
  });
  expect(answer.status).toBe(200);
  return (answer.body as { result: { data: { id: string } } }).result.data;
};

describe("items.onChange", () => {
  it("answers 401 with a challenge, not a stream, without a token", async () => {
    const stream = await openItemStream(server.api);
    expect(stream.status).toBe(401);
    expect(stream.headers.get("www-authenticate")).toBe(NO_CREDENTIALS_CHALLENGE);
    expect(stream.headers.get("content-type")).toMatch(/^application\/json/);
    expect(stream.error).toMatchObject({ error: { data: { code: "UNAUTHORIZED" } } });
  });

  it("answers 401 invalid_token for a token that fails verification", async () => {
    const expired = await server.bearer({
      scope: "read:items",
      exp: Math.floor(Date.now() / 1000) - 60,
    });
    const stream = await openItemStream(server.api, { authorization: expired });
    expect(stream.status).toBe(401);
    expect(stream.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });

  it("refuses (401) a token past its exp that verifies only within the clock leeway", async () => {
    const exp = Math.floor(Date.now() / 1000) - 2;
    const justExpired = await server.bearer({ scope: "read:items", iat: exp - 60, exp });
    expect((await callTrpc(server.api, "whoami", { authorization: justExpired })).status).toBe(200);
    const stream = await openItemStream(server.api, { authorization: justExpired });
    expect(stream.status).toBe(401);
    expect(stream.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });

  it("answers 403 insufficient_scope for a token without read:items", async () => {
    const stream = await openItemStream(server.api, {
      authorization: await server.bearer({ scope: "write:items" }),
    });
    expect(stream.status).toBe(403);
    expect(stream.headers.get("www-authenticate")).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="read:items"',
    );
    expect(stream.error).toMatchObject({ error: { data: { code: "FORBIDDEN" } } });
  });

  it("answers 400 for a malformed lastEventId, as a status", async () => {
    const stream = await openItemStream(server.api, {
      authorization: reader,
      input: { lastEventId: "x".repeat(65) },
    });
    expect(stream.status).toBe(400);
    expect(stream.error).toMatchObject({
      error: {
        message: "Invalid input: lastEventId must be at most 64 characters",
        data: { code: "BAD_REQUEST", input: { fieldErrors: { lastEventId: expect.any(Array) } } },
      },
    });
    const header = await openItemStream(server.api, {
      authorization: reader,
      lastEventId: "y".repeat(65),
    });
    expect(header.status).toBe(400);
  });

  it("streams created items with ids, and resumes after an id without loss or duplicate", async () => {
    const stream = await openItemStream(server.api, { authorization: reader });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect((await stream.nextEvent())?.event).toBe("connected");

    const first = await create("first");
    const second = await create("second");
    const one = await stream.nextMessage();
    const two = await stream.nextMessage();
    expect(one.data).toEqual({ type: "created", item: first });
    expect(two.data).toEqual({ type: "created", item: second });
    expect(one.id).toMatch(/^[0-9a-f]{8}-\d+$/);
    stream.close();

    const third = await create("third");
    const resumed = await openItemStream(server.api, {
      authorization: reader,
      lastEventId: one.id as string,
    });
    const seen = [await resumed.nextMessage(), await resumed.nextMessage()];
    expect(seen.map((event) => event.data)).toEqual([
      { type: "created", item: second },
      { type: "created", item: third },
    ]);
    expect(seen[0]?.id).toBe(two.id);
    const fourth = await create("fourth");
    expect((await resumed.nextMessage()).data).toEqual({ type: "created", item: fourth });
    resumed.close();
  });

  it("tells a subscriber whose id is unknown to reload (gap), then streams live changes", async () => {
    const stream = await openItemStream(server.api, {
      authorization: reader,
      lastEventId: "00000000-1",
    });
    expect((await stream.nextMessage()).data).toEqual({ type: "gap" });
    const item = await create("after the gap");
    expect((await stream.nextMessage()).data).toEqual({ type: "created", item });
    stream.close();
  });

  it("serves 200 concurrent streams, each receiving the change", async () => {
    const streams = await Promise.all(
      Array.from({ length: 200 }, () => openItemStream(server.api, { authorization: reader })),
    );
    expect(streams.every((stream) => stream.status === 200)).toBe(true);
    await Promise.all(
      streams.map(async (stream) => expect((await stream.nextEvent())?.event).toBe("connected")),
    );
    const item = await create("for everyone");
    const received = await Promise.all(streams.map((stream) => stream.nextMessage()));
    expect(received.every((event) => (event.data as { item: unknown }).item !== undefined)).toBe(
      true,
    );
    expect(new Set(received.map((event) => JSON.stringify(event.data)))).toEqual(
      new Set([JSON.stringify({ type: "created", item })]),
    );
    for (const stream of streams) stream.close();
  });

  it("caps each client's open streams: 429 with Retry-After beyond it, counted in /metrics", async () => {
    const capped = await startSignedApi({}, { MAX_STREAMS_PER_CLIENT: "2" });
    try {
      const mine = await capped.bearer({ scope: "read:items", azp: "busy-client" });
      const held = [
        await openItemStream(capped.api, { authorization: mine }),
        await openItemStream(capped.api, { authorization: mine }),
      ];
      expect(held.map((stream) => stream.status)).toEqual([200, 200]);
      expect(await metricValue(capped.api, "api_open_streams", {})).toBe(2);

      const refused = await openItemStream(capped.api, { authorization: mine });
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("5");
      expect(refused.error).toMatchObject({ error: { data: { code: "TOO_MANY_REQUESTS" } } });
      expect(await metricValue(capped.api, "api_streams_refused_total", {})).toBe(1);

      const other = await capped.bearer({ scope: "read:items", azp: "another-client" });
      const theirs = await openItemStream(capped.api, { authorization: other });
      expect(theirs.status).toBe(200);
      theirs.close();

      held[0]?.close();
      await waitFor(
        async () => (await metricValue(capped.api, "api_open_streams", {})) === 1,
        "the closed stream's place to be released",
      );
      const again = await openItemStream(capped.api, { authorization: mine });
      expect(again.status).toBe(200);
      again.close();
      held[1]?.close();
    } finally {
      await capped.close();
    }
  });
});
