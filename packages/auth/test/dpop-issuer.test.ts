import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningIssuer, startIssuer } from "@repo/issuer";
import { Redis } from "ioredis";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type ClientCredentialsClient,
  type ClientCredentialsClientOptions,
  createClientCredentialsClient,
} from "../src/token-client/index.js";
import { redisStore } from "../src/token-client/redis-store.js";
import { startDpopResourceServer } from "./support/dpop-resource-server.js";

const AUDIENCE = "https://api.example.local";
const REDIS_URL = "redis://127.0.0.1:6379";
let issuer: RunningIssuer;
let nonceIssuer: RunningIssuer;
let keysDir: string;
let admin: Redis;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "auth-dpop-keys-"));
  issuer = await startIssuer({ port: 0, quiet: true, keysDir });
  nonceIssuer = await startIssuer({ port: 0, quiet: true, keysDir, dpopNonce: true });
  admin = new Redis(REDIS_URL);
});

afterAll(async () => {
  await Promise.all([issuer?.close(), nonceIssuer?.close(), admin?.quit()]);
  await rm(keysDir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function client(options: Partial<ClientCredentialsClientOptions> = {}): ClientCredentialsClient {
  const tokens = createClientCredentialsClient({
    issuerBaseURL: issuer.issuer,
    clientId: "dev-dpop",
    clientSecret: "dev-dpop-secret",
    audience: AUDIENCE,
    dpop: true,
    ...options,
  });
  cleanups.push(tokens.close);
  return tokens;
}

async function boundKey(accessToken: string, at: RunningIssuer = issuer): Promise<unknown> {
  const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(at.jwksUri)), {
    issuer: at.issuer,
    audience: AUDIENCE,
  });
  return (payload.cnf as { jkt?: unknown } | undefined)?.jkt;
}

async function freshPrefix() {
  const prefix = `test:auth:dpop:${randomUUID()}:`;
  cleanups.push(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  });
  return prefix;
}

describe("DPoP against the development issuer", () => {
  it("gets a DPoP token bound to the client's key (cnf.jkt is its thumbprint)", async () => {
    const tokens = client();
    const set = await tokens.getTokenSet();
    expect(set.tokenType).toBe("DPoP");
    expect(await boundKey(set.accessToken)).toBe(await tokens.dpopKeyThumbprint());
  });

  it("lets dev-dpop have no token without a proof", async () => {
    const tokens = client({ dpop: false });
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "ERR_TOKEN_ENDPOINT",
      error: "invalid_request",
      status: 400,
      retryable: false,
    });
    expect(tokens.stats()).toMatchObject({ tokenRequests: 1, dpopProofs: 0 });
  });

  it("keeps Bearer tokens for the other clients, and binds theirs when they send a proof", async () => {
    const writer = { clientId: "dev-writer", clientSecret: "dev-writer-secret" };
    const bearer = await client({ ...writer, dpop: false }).getTokenSet();
    expect(bearer.tokenType).toBe("Bearer");
    expect(decodeJwt(bearer.accessToken).cnf).toBeUndefined();
    const bound = client(writer);
    expect(await boundKey(await bound.getToken())).toBe(await bound.dpopKeyThumbprint());
  });

  it("answers an issuer that requires nonces once, then sends the nonce it remembered", async () => {
    const tokens = client({ issuerBaseURL: nonceIssuer.issuer });
    const first = await tokens.getToken();
    expect(await boundKey(first, nonceIssuer)).toBe(await tokens.dpopKeyThumbprint());
    expect(tokens.stats()).toMatchObject({ tokenRequests: 2, dpopNonceRetries: 1 });
    await tokens.getToken({ forceRefresh: true });
    expect(tokens.stats()).toMatchObject({ tokenRequests: 3, dpopNonceRetries: 1 });
  });

  it("calls a resource server with proofs it verifies against the token's cnf.jkt", async () => {
    const rs = await startDpopResourceServer({ nonce: "required" });
    cleanups.push(rs.close);
    const tokens = client();
    rs.boundTo = String(await boundKey(await tokens.getToken()));
    const responses = await Promise.all([1, 2, 3].map((i) => tokens.fetch(`${rs.url}/items/${i}`)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set(rs.accepted.map((a) => a.proof.jti)).size).toBe(3);
  });
});

describe("DPoP tokens in a shared Redis store", () => {
  it("gives processes with their own generated keys a token each", async () => {
    const prefix = await freshPrefix();
    const [a, b] = [1, 2].map(() => client({ store: redisStore({ url: REDIS_URL, prefix }) }));
    const [tokenA, tokenB] = await Promise.all([a?.getToken(), b?.getToken()]);
    expect(tokenA).not.toBe(tokenB);
    expect(await boundKey(tokenA ?? "")).toBe(await a?.dpopKeyThumbprint());
    expect(await boundKey(tokenB ?? "")).toBe(await b?.dpopKeyThumbprint());
    expect([a?.stats().tokenRequests, b?.stats().tokenRequests]).toEqual([1, 1]);
  });

  it("gives processes that bring the same key pair one token, usable by each", async () => {
    const prefix = await freshPrefix();
    const keyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify",
    ]);
    const [a, b] = [1, 2].map(() =>
      client({ dpop: { keyPair }, store: redisStore({ url: REDIS_URL, prefix }) }),
    );
    const [tokenA, tokenB] = await Promise.all([a?.getToken(), b?.getToken()]);
    expect(tokenA).toBe(tokenB);
    expect((a?.stats().tokenRequests ?? 0) + (b?.stats().tokenRequests ?? 0)).toBe(1);
    const stored = await admin.keys(`${prefix}*`);
    const raw = await Promise.all(stored.map((key) => admin.get(key)));
    expect(raw.join("")).not.toContain('"d"');

    const rs = await startDpopResourceServer();
    cleanups.push(rs.close);
    rs.boundTo = String(await boundKey(tokenA ?? ""));
    const statuses = await Promise.all(
      [a, b].map(async (tokens) => (await tokens?.fetch(`${rs.url}/items`))?.status),
    );
    expect(statuses).toEqual([200, 200]);
  });
});
