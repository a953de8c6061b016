import { exportPKCS8, generateKeyPair, jwtVerify } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { fakeTime } from "../../test/support/fake-time.js";
import { startTokenServer, type TokenServer } from "../../test/support/token-server.js";
import { createClientCredentialsClient } from "./client-credentials-client.js";
import type { ClientCredentialsClientOptions } from "./client-options.js";
import {
  InvalidTokenResponseError,
  TokenClientClosedError,
  TokenEndpointError,
  TokenNetworkError,
  TokenRequestTimeoutError,
} from "./errors.js";
import { memoryStore } from "./memory-store.js";
import type { TokenClientEvent, TokenStore } from "./types.js";

const SECRET = "s3cret-value-never-logged";
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Overrides =
  | Partial<ClientCredentialsClientOptions>
  | ((server: TokenServer) => Partial<ClientCredentialsClientOptions>);

async function setup(overrides: Overrides = {}) {
  const server = await startTokenServer();
  const time = fakeTime();
  const events: TokenClientEvent[] = [];
  const waiters: Array<{ match: (e: TokenClientEvent) => boolean; resolve: () => void }> = [];
  const onEvent = (event: TokenClientEvent) => {
    events.push(event);
    for (const waiter of waiters.filter((w) => w.match(event))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      // let the client finish storing what the event announced
      setImmediate(waiter.resolve);
    }
  };
  /** Resolves on the next event of this type (after the client settled it). */
  const nextEvent = (type: TokenClientEvent["type"]) =>
    new Promise<void>((resolve) => waiters.push({ match: (e) => e.type === type, resolve }));
  const tokens = createClientCredentialsClient({
    tokenEndpoint: server.tokenEndpoint,
    clientId: "svc",
    clientSecret: SECRET,
    audience: "https://api.example.local",
    scope: "read:items",
    now: time.now,
    sleep: time.sleep,
    random: () => 0.5,
    onEvent,
    ...(typeof overrides === "function" ? overrides(server) : overrides),
  });
  cleanups.push(server.close, tokens.close);
  return { server, time, tokens, events, nextEvent };
}

function expectNoSecrets(err: unknown, ...secrets: string[]) {
  const seen = new Set<unknown>();
  let text = "";
  for (let e: unknown = err; e && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    text += `${String(e)} ${JSON.stringify(e)} ${(e as Error).stack ?? ""}`;
  }
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe("createClientCredentialsClient", () => {
  it("answers 1 000 concurrent calls with one POST", async () => {
    const { server, tokens } = await setup();
    const results = await Promise.all(Array.from({ length: 1000 }, () => tokens.getToken()));
    expect(server.requests).toBe(1);
    expect(new Set(results)).toEqual(new Set(["token-1"]));
    const params = server.received[0]?.params;
    expect(Object.fromEntries(params ?? [])).toEqual({
      grant_type: "client_credentials",
      client_id: "svc",
      client_secret: SECRET,
      audience: "https://api.example.local",
      scope: "read:items",
    });
    expect(tokens.stats()).toMatchObject({ tokenRequests: 1, store: "memory" });
  });

  it("serves later calls from the cache and counts hits", async () => {
    const { server, tokens } = await setup();
    const first = await tokens.getTokenSet();
    expect(await tokens.getTokenSet()).toBe(first);
    expect(first).toMatchObject({ tokenType: "Bearer", scope: "read:items" });
    expect(first.expiresAt - first.issuedAt).toBe(3_600_000);
    expect(server.requests).toBe(1);
    expect(tokens.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 1, storeDegraded: false });
  });

  it("keeps one token per audience and scope, whatever the scope spelling", async () => {
    const { server, tokens } = await setup();
    const a = await tokens.getToken({ scope: "write:items read:items" });
    const b = await tokens.getToken({ scope: ["read:items", "write:items", "read:items"] });
    const c = await tokens.getToken({ audience: "https://other.example.local" });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(server.requests).toBe(2);
    expect(server.received[0]?.params.get("scope")).toBe("read:items write:items");
  });

  it("sends the audience as resource or both when asked", async () => {
    const { server, tokens } = await setup({ audienceParam: "both" });
    await tokens.getToken();
    expect(server.received[0]?.params.get("resource")).toBe("https://api.example.local");
    expect(server.received[0]?.params.get("audience")).toBe("https://api.example.local");
  });

  it("authenticates with client_secret_basic", async () => {
    const { server, tokens } = await setup({ authMethod: "client_secret_basic" });
    await tokens.getToken();
    const [, encoded] = server.received[0]?.authorization?.split(" ") ?? [];
    const [id, secret] = Buffer.from(encoded ?? "", "base64")
      .toString()
      .split(":");
    // RFC 6749 §2.3.1: both parts are form-urlencoded first
    expect([id, decodeURIComponent(secret ?? "")]).toEqual(["svc", SECRET]);
    expect(server.received[0]?.params.has("client_secret")).toBe(false);
  });

  it("authenticates with private_key_jwt from a PEM key", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const { server, tokens } = await setup({
      authMethod: "private_key_jwt",
      clientSecret: undefined,
      privateKey: await exportPKCS8(privateKey),
      kid: "key-1",
      now: Date.now,
    });
    await tokens.getToken();
    const params = server.received[0]?.params;
    expect(params?.get("client_assertion_type")).toBe(
      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    );
    const { payload, protectedHeader } = await jwtVerify(
      params?.get("client_assertion") ?? "",
      publicKey,
      { issuer: "svc", subject: "svc", audience: server.tokenEndpoint },
    );
    expect(protectedHeader.kid).toBe("key-1");
    expect(payload.jti).toBeTypeOf("string");
  });

  it("uses the issuer, with its trailing slash, as the assertion audience when given", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const { server, tokens } = await setup((s) => ({
      authMethod: "private_key_jwt",
      privateKey,
      issuerBaseURL: s.issuer.replace(/\/$/, ""),
      now: Date.now,
    }));
    await tokens.getToken();
    const assertion = server.received[0]?.params.get("client_assertion") ?? "";
    await expect(
      jwtVerify(assertion, publicKey, { audience: server.issuer }),
    ).resolves.toBeTruthy();
  });

  it("finds the token endpoint through discovery", async () => {
    const { server, tokens } = await setup((s) => ({
      tokenEndpoint: undefined,
      issuerBaseURL: s.issuer,
    }));
    expect(await tokens.getToken()).toBe("token-1");
    expect(server.requests).toBe(1);
  });

  it("refreshes ahead of expiry while callers keep the current token", async () => {
    const { server, time, tokens, nextEvent } = await setup({ refreshSkew: 60_000 });
    server.fallback = { kind: "token", expiresIn: 120 };
    expect(await tokens.getToken()).toBe("token-1");
    // skew is capped to a quarter of 120 s = 30 s; random 0.5 puts the refresh 15 s before expiry
    time.advance(120_000 - 30_000);
    expect(await tokens.getToken()).toBe("token-1");
    expect(server.requests).toBe(1);
    time.advance(16_000);
    const received = nextEvent("token_received");
    expect(await tokens.getToken()).toBe("token-1");
    await received;
    expect(await tokens.getToken()).toBe("token-2");
    expect(server.requests).toBe(2);
  });

  it("over 10 simulated minutes of 60 s tokens, refreshes once per token and never makes a caller wait", async () => {
    const { server, time, tokens, events, nextEvent } = await setup();
    server.fallback = { kind: "token", expiresIn: 60 };
    const started = time.now();
    while (time.now() - started < 600_000) {
      const set = await tokens.getTokenSet();
      expect(set.expiresAt).toBeGreaterThan(time.now());
      // let a refresh this call started reach the endpoint before the clock moves on
      await new Promise((resolve) => setImmediate(resolve));
      const requested = events.filter((e) => e.type === "token_request").length;
      const received = events.filter((e) => e.type === "token_received").length;
      if (requested > received) await nextEvent("token_received");
      time.advance(500);
    }
    expect(tokens.stats().cacheMisses).toBe(1);
    // each 60 s token is replaced 11.25 s before it expires (skew capped to 15 s, random 0.5)
    expect(server.requests).toBe(Math.ceil(600_000 / 48_750));
  });

  it("keeps serving a valid token while refreshes fail, and retries later", async () => {
    const { server, time, tokens, nextEvent } = await setup({ retry: { maxAttempts: 2 } });
    server.fallback = { kind: "token", expiresIn: 400 };
    await tokens.getToken();
    server.fallback = { kind: "json", status: 500, body: { error: "server_error" } };
    time.advance(360_000);
    const failed = nextEvent("refresh_failed");
    expect(await tokens.getToken()).toBe("token-1");
    await failed;
    expect(server.requests).toBe(3);
    // within the cool-down after a failure, no new attempt
    expect(await tokens.getToken()).toBe("token-1");
    expect(server.requests).toBe(3);
    time.advance(6_000);
    server.fallback = { kind: "token", expiresIn: 400 };
    const received = nextEvent("token_received");
    expect(await tokens.getToken()).toBe("token-1");
    await received;
    expect(await tokens.getToken()).toBe("token-2");
  });

  it("never hands out an expired token: past expiry, callers wait for a new one or the error", async () => {
    const { server, time, tokens } = await setup({ retry: false });
    server.fallback = { kind: "token", expiresIn: 60 };
    await tokens.getToken();
    server.fallback = { kind: "json", status: 503, body: {} };
    time.advance(60_000);
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenEndpointError);
    expect(err).toMatchObject({ status: 503, error: "temporarily_unavailable", retryable: true });
  });

  it("honours Retry-After in seconds", async () => {
    const { server, time, tokens } = await setup();
    server.queue({ kind: "json", status: 429, body: {}, headers: { "retry-after": "3" } });
    expect(await tokens.getToken()).toBe("token-1");
    expect(time.sleeps).toEqual([3_000]);
    expect(server.requests).toBe(2);
  });

  it("honours Retry-After as an HTTP date", async () => {
    const { server, time, tokens } = await setup();
    const at = new Date(time.now() + 7_000).toUTCString();
    server.queue({ kind: "json", status: 503, body: {}, headers: { "retry-after": at } });
    await tokens.getToken();
    expect(time.sleeps).toEqual([7_000]);
  });

  it("backs off exponentially with full jitter on 5xx, then gives every caller the same error", async () => {
    const { server, time, tokens, events } = await setup({ retry: { maxAttempts: 4 } });
    server.fallback = { kind: "json", status: 502, body: {} };
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => tokens.getToken()));
    expect(server.requests).toBe(4);
    // random 0.5 of windows 250, 500, 1000
    expect(time.sleeps).toEqual([125, 250, 500]);
    const reasons = new Set(results.map((r) => (r.status === "rejected" ? r.reason : r.value)));
    expect(reasons.size).toBe(1);
    expect([...reasons][0]).toMatchObject({ code: "ERR_TOKEN_ENDPOINT", status: 502 });
    const failures = events.filter((e) => e.type === "token_request_failed");
    expect(failures.map((e) => e.retryIn)).toEqual([125, 250, 500, undefined]);
  });

  it("stops retrying when the wait would pass maxElapsed", async () => {
    const { server, time, tokens } = await setup({ retry: { maxElapsed: 10_000 } });
    server.queue({ kind: "json", status: 429, body: {}, headers: { "retry-after": "60" } });
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, retryAfter: 60_000 });
    expect(server.requests).toBe(1);
    expect(time.sleeps).toEqual([]);
  });

  it("answers later callers with the failure until its Retry-After has passed", async () => {
    const { server, time, tokens } = await setup({ retry: { maxElapsed: 10_000 } });
    server.queue({ kind: "json", status: 429, body: {}, headers: { "retry-after": "60" } });
    const first = await tokens.getToken().catch((e: unknown) => e);
    time.advance(59_000);
    const second = await tokens.getToken().catch((e: unknown) => e);
    expect(second).toBeInstanceOf(TokenEndpointError);
    expect(second).toMatchObject({ status: 429, error: (first as TokenEndpointError).error });
    expect(server.requests).toBe(1);
    time.advance(1_000);
    expect(await tokens.getToken()).toBe("token-1");
    expect(server.requests).toBe(2);
  });

  it.each([
    ["invalid_client", 401],
    ["unauthorized_client", 400],
    ["invalid_scope", 400],
    ["access_denied", 403],
  ])("does not retry %s", async (error, status) => {
    const { server, tokens } = await setup();
    server.fallback = { kind: "json", status, body: { error, error_description: "nope" } };
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenEndpointError);
    expect(err).toMatchObject({ error, status, errorDescription: "nope", retryable: false });
    expect(server.requests).toBe(1);
    expectNoSecrets(err, SECRET);
  });

  it("reads the error of a 401 WWW-Authenticate challenge", async () => {
    const { server, tokens } = await setup();
    server.fallback = {
      kind: "json",
      status: 401,
      body: "",
      headers: { "www-authenticate": 'Basic realm="token", error="invalid_client"' },
    };
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ERR_TOKEN_ENDPOINT", error: "invalid_client", status: 401 });
    expect(server.requests).toBe(1);
  });

  it("reads a bare 401 as invalid_client", async () => {
    const { server, tokens } = await setup();
    server.fallback = { kind: "garbage", status: 401 };
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ERR_TOKEN_ENDPOINT", error: "invalid_client", status: 401 });
    expect(server.requests).toBe(1);
  });

  it("treats an error body in a 200 answer as an error", async () => {
    const { server, tokens } = await setup();
    server.fallback = { kind: "json", status: 200, body: { error: "invalid_request" } };
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "ERR_TOKEN_ENDPOINT",
      error: "invalid_request",
      status: 200,
    });
  });

  it("times out a hanging endpoint", async () => {
    const { server, tokens } = await setup({ timeout: 150, retry: false });
    server.fallback = { kind: "hang" };
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenRequestTimeoutError);
    expect(err).toMatchObject({ code: "ERR_TOKEN_REQUEST_TIMEOUT", timeout: 150, retryable: true });
  });

  it("times out a body that stops arriving", async () => {
    const { server, tokens } = await setup({ timeout: 150, retry: false });
    server.fallback = { kind: "stall-body" };
    await expect(tokens.getToken()).rejects.toBeInstanceOf(TokenRequestTimeoutError);
  });

  it("rejects a discovery document without a token endpoint", async () => {
    const { server, tokens } = await setup((s) => ({
      tokenEndpoint: undefined,
      issuerBaseURL: s.issuer,
    }));
    server.discovery = { issuer: server.issuer };
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidTokenResponseError);
    expect(server.requests).toBe(0);
  });

  it("keeps working when an onEvent listener throws", async () => {
    const { tokens } = await setup({
      onEvent: () => {
        throw new Error("listener bug");
      },
    });
    expect(await tokens.getToken()).toBe("token-1");
  });

  it("reports an unreachable endpoint as a network error", async () => {
    const { server, tokens } = await setup({ retry: false });
    await server.close();
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenNetworkError);
    expect((err as Error).cause).toBeDefined();
  });

  it.each([
    ["garbage", { kind: "garbage" }],
    ["an oversize body", { kind: "oversize" }],
    ["an empty access_token", { kind: "token", accessToken: "" }],
    ["a non-Bearer token_type", { kind: "token", tokenType: "DPoP" }],
    ["a negative expires_in", { kind: "token", expiresIn: -5 }],
    ["a non-numeric expires_in", { kind: "token", expiresIn: "soon" }],
  ] as const)("rejects %s without retrying or leaking", async (_name, behaviour) => {
    const { server, tokens } = await setup();
    server.fallback = behaviour;
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidTokenResponseError);
    expect(err).toMatchObject({ code: "ERR_TOKEN_INVALID_RESPONSE", retryable: false });
    expect(server.requests).toBe(1);
    expectNoSecrets(err, SECRET, "token-1");
  });

  it("accepts a lower-case bearer and a missing expires_in (default lifetime)", async () => {
    const { server, tokens } = await setup({ defaultExpiresIn: 600 });
    server.fallback = { kind: "token", tokenType: "bearer", expiresIn: null };
    const set = await tokens.getTokenSet();
    expect(set.expiresAt - set.issuedAt).toBe(600_000);
  });

  it("retries a 5xx garbage page from a proxy", async () => {
    const { server, tokens } = await setup();
    server.queue({ kind: "garbage", status: 502 });
    expect(await tokens.getToken()).toBe("token-1");
    expect(server.requests).toBe(2);
  });

  it("forceRefresh and invalidate get a new token; invalidating an old token keeps the new one", async () => {
    const { server, tokens } = await setup();
    const first = await tokens.getToken();
    const second = await tokens.getToken({ forceRefresh: true });
    expect(second).not.toBe(first);
    await tokens.invalidate({ accessToken: first });
    expect(await tokens.getToken()).toBe(second);
    await tokens.invalidate({ accessToken: second });
    expect(await tokens.getToken()).toBe("token-3");
    expect(server.requests).toBe(3);
  });

  it("does not hand out or cache back a token being invalidated that a concurrent load just read", async () => {
    // The store's delete is held back, as a shared store's round trip is, while another caller
    // of this process loads: it finds the rejected token still stored.
    const shared = memoryStore({ now: fakeTime().now }); // the same start as setup's clock
    let releaseDelete = (): void => {};
    const deleteHeld = new Promise<void>((resolve) => {
      releaseDelete = resolve;
    });
    const store: TokenStore = {
      ...shared,
      kind: shared.kind,
      get degraded() {
        return shared.degraded;
      },
      delete: async (key, accessToken) => {
        await deleteHeld;
        return shared.delete(key, accessToken);
      },
    };
    const { server, tokens } = await setup({ store });
    const first = await tokens.getToken();
    const invalidating = tokens.invalidate({ accessToken: first });
    const concurrent = tokens.getToken();
    releaseDelete();
    await invalidating;
    const after = await tokens.getToken();
    expect(await concurrent).toBe("token-2");
    expect(after).toBe("token-2");
    expect(server.requests).toBe(2);
  });

  it("peeks at the cached token set without requesting one", async () => {
    const { server, time, tokens } = await setup();
    expect(await tokens.peekTokenSet()).toBeUndefined();
    const set = await tokens.getTokenSet();
    expect(await tokens.peekTokenSet({ scope: "read:items" })).toEqual(set);
    time.advance(3_600_000);
    expect(await tokens.peekTokenSet()).toBeUndefined();
    expect(server.requests).toBe(1);
  });

  it("sends through an injected fetch", async () => {
    const seen: string[] = [];
    const { tokens } = await setup({
      fetch: (input, init) => {
        seen.push(`${init?.method} ${String(input)}`);
        return fetch(input, init);
      },
    });
    await tokens.getToken();
    expect(seen).toEqual([expect.stringMatching(/^POST http:\/\/127\.0\.0\.1:\d+\/oauth\/token$/)]);
  });

  it("close() aborts a pending request and rejects its callers", async () => {
    const { server, tokens } = await setup();
    server.fallback = { kind: "hang" };
    const pending = tokens.getToken();
    await server.waitForRequests(1);
    await tokens.close();
    await expect(pending).rejects.toBeInstanceOf(TokenClientClosedError);
  });

  it("refuses calls after close", async () => {
    const { tokens } = await setup();
    await tokens.close();
    await expect(tokens.getToken()).rejects.toBeInstanceOf(TokenClientClosedError);
  });

  it("rejects incomplete configuration up front", () => {
    expect(() => createClientCredentialsClient({ clientId: "svc", clientSecret: "x" })).toThrow(
      TypeError,
    );
    expect(() =>
      createClientCredentialsClient({ clientId: "svc", tokenEndpoint: "http://127.0.0.1:1/" }),
    ).toThrow(/clientSecret/);
    expect(() =>
      createClientCredentialsClient({ clientId: "svc", clientSecret: "x", tokenEndpoint: "nope" }),
    ).toThrow(/tokenEndpoint/);
  });
});
