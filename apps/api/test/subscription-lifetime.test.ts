import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuthorizedFetch, createClientCredentialsClient, readEventStream } from "@repo/auth";
import { type RunningIssuer, startIssuer } from "@repo/issuer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiServer } from "../src/server.js";
import { type OpenStream, openItemStream } from "./fixtures/sse-stream.js";
import { callTrpc, metricValue, startTestApi } from "./fixtures/test-api.js";

// A stream lasts no longer than its token: the development issuer signs short-lived tokens and
// retires keys, and the API ends the stream with a last event saying why.
// The generator rewrites this identifier in a generated service's copy of these tests.
const AUDIENCE = "https://api.example.local";
let keysDir: string;
let issuer: RunningIssuer;
let api: ApiServer;
let writer: string;

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "api-stream-keys-"));
  issuer = await startIssuer({ port: 0, keysDir, quiet: true });
  // Keys refreshed about every 0.8 s, so a retired key is noticed quickly.
  ({ api } = await startTestApi({ ISSUER_BASE_URL: issuer.issuer, JWKS_CACHE_MAX_AGE: "1" }));
  writer = `Bearer ${(await issuer.requestToken({ clientId: "dev-writer", audience: AUDIENCE })).access_token}`;
});

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

const create = async (name: string) => {
  const answer = await callTrpc(api, "items.create", {
    authorization: writer,
    method: "POST",
    input: { name },
  });
  expect(answer.status).toBe(200);
  return (answer.body as { result: { data: unknown } }).result.data;
};

/** The stream's last message, then its end (tRPC's `return` event, then the body's end). */
async function expectEnd(stream: OpenStream, type: string) {
  expect((await stream.nextMessage()).data).toEqual({ type });
  let next = await stream.nextEvent();
  // tRPC restores the last change's id after an event without one, so a reconnect resumes from it.
  if (next?.event === "restore-id") next = await stream.nextEvent();
  expect(next?.event).toBe("return");
  expect(await stream.nextEvent()).toBeUndefined();
}

describe("a subscription's lifetime", () => {
  it("ends with token_expired at the token's exp, and resumes with a fresh token without loss", async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const shortLived = `Bearer ${await issuer.signAccessToken({ exp, scope: "read:items", aud: AUDIENCE })}`;
    const stream = await openItemStream(api, { authorization: shortLived });
    expect(stream.status).toBe(200);
    const first = await create("before expiry");
    const received = await stream.nextMessage();
    expect(received.data).toEqual({ type: "created", item: first });

    await expectEnd(stream, "token_expired");
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);

    const missed = [await create("while away 1"), await create("while away 2")];
    const fresh = `Bearer ${(await issuer.requestToken({ clientId: "dev-reader", audience: AUDIENCE })).access_token}`;
    const resumed = await openItemStream(api, {
      authorization: fresh,
      lastEventId: received.id as string,
    });
    expect([(await resumed.nextMessage()).data, (await resumed.nextMessage()).data]).toEqual(
      missed.map((item) => ({ type: "created", item })),
    );
    resumed.close();
  });

  it("refuses to open a stream for an expired token (401), never streaming it", async () => {
    const expired = `Bearer ${await issuer.signAccessToken({ exp: Math.floor(Date.now() / 1000) - 30, scope: "read:items", aud: AUDIENCE })}`;
    const stream = await openItemStream(api, { authorization: expired });
    expect(stream.status).toBe(401);
    expect(stream.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });

  it("ends streams whose signing key was retired with key_revoked, and keeps the others", async () => {
    const oldToken = `Bearer ${(await issuer.requestToken({ clientId: "dev-reader", audience: AUDIENCE })).access_token}`;
    const old = await openItemStream(api, { authorization: oldToken });
    expect(old.status).toBe(200);
    expect((await old.nextEvent())?.event).toBe("connected");

    await issuer.rotateKeys();
    const newToken = `Bearer ${(await issuer.requestToken({ clientId: "dev-reader", audience: AUDIENCE })).access_token}`;
    const current = await openItemStream(api, { authorization: newToken });
    expect(current.status).toBe(200);
    await issuer.retirePreviousKeys();
    writer = `Bearer ${(await issuer.requestToken({ clientId: "dev-writer", audience: AUDIENCE })).access_token}`;

    await expectEnd(old, "key_revoked");
    expect(await metricValue(api, "api_streams_ended_total", { reason: "key_revoked" })).toBe(1);
    const item = await create("after the rotation");
    expect((await current.nextMessage()).data).toEqual({ type: "created", item });
    const again = await openItemStream(api, { authorization: oldToken });
    expect(again.status).toBe(401);
    current.close();
  });

  it("a token-client subscriber resumes after key_revoked with a new token, missing nothing", async () => {
    const tokens = createClientCredentialsClient({
      issuerBaseURL: issuer.issuer,
      clientId: "dev-reader",
      clientSecret: "dev-reader-secret",
      audience: AUDIENCE,
    });
    const controller = new AbortController();
    const seen: string[] = [];
    const created: unknown[] = [];
    let connections = 0;
    try {
      for await (const event of readEventStream({
        url: `${api.trpcUrl}/items.onChange`,
        fetch: createAuthorizedFetch(tokens),
        reconnectDelay: 20,
        signal: controller.signal,
        onConnection: (info) => {
          if (info.type === "open") connections += 1;
        },
      })) {
        if (event.event === "connected" && connections === 1) {
          created.push(await create("before the rotation"));
        }
        if (event.event !== "message") continue;
        const data = JSON.parse(event.data) as { type: string; item?: unknown };
        seen.push(data.type);
        if (data.type === "created" && created.length === 1) {
          // The token the client holds was signed by the key about to be retired.
          await issuer.rotateKeys();
          await issuer.retirePreviousKeys();
          writer = `Bearer ${(await issuer.requestToken({ clientId: "dev-writer", audience: AUDIENCE })).access_token}`;
        }
        if (data.type === "key_revoked") created.push(await create("while reconnecting"));
        if (data.type === "created" && created.length === 2) {
          expect(data.item).toEqual(created[1]);
          controller.abort();
        }
      }
    } finally {
      await tokens.close();
    }
    expect(seen).toEqual(["created", "key_revoked", "created"]);
    expect(connections).toBe(2);
  });

  it("ends every stream with shutting_down when the server stops", async () => {
    const { api: stopping } = await startTestApi({ ISSUER_BASE_URL: issuer.issuer });
    const reader = `Bearer ${(await issuer.requestToken({ clientId: "dev-reader", audience: AUDIENCE })).access_token}`;
    const stream = await openItemStream(stopping, { authorization: reader });
    expect((await stream.nextEvent())?.event).toBe("connected");
    expect(await metricValue(stopping, "api_open_streams", {})).toBe(1);
    const closed = stopping.close();
    await expectEnd(stream, "shutting_down");
    await closed;
  });
});
