import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { checkProof } from "@repo/test-utils";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { initTRPC } from "@trpc/server";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { calculateJwkThumbprint } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import {
  type DpopResourceServerOptions,
  startDpopResourceServer,
} from "../../test/support/dpop-resource-server.js";
import { startTokenServer } from "../../test/support/token-server.js";
import { createAuthorizedFetch } from "./authorized-fetch.js";
import { createClientCredentialsClient } from "./client-credentials-client.js";
import type { ClientCredentialsClientOptions } from "./client-options.js";
import { memoryStore } from "./memory-store.js";
import type { TokenClientEvent } from "./types.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  rsOptions: DpopResourceServerOptions = {},
  extra: Partial<ClientCredentialsClientOptions> = {},
) {
  const tokenServer = await startTokenServer();
  tokenServer.fallback = { kind: "token", tokenType: "DPoP" };
  const rs = await startDpopResourceServer(rsOptions);
  const events: TokenClientEvent[] = [];
  const tokens = createClientCredentialsClient({
    tokenEndpoint: tokenServer.tokenEndpoint,
    clientId: "svc",
    clientSecret: "svc-secret",
    audience: "https://api.example.local",
    dpop: true,
    onEvent: (event) => events.push(event),
    ...extra,
  });
  cleanups.push(tokenServer.close, rs.close, tokens.close);
  rs.boundTo = await tokens.dpopKeyThumbprint();
  return { tokenServer, rs, tokens, events };
}

async function bodyOf(response: Response) {
  return { status: response.status, body: await response.text() };
}

describe("a client with a DPoP key, at the token endpoint", () => {
  it("sends a proof of its key and gets a DPoP token cached under that key", async () => {
    const { tokenServer, tokens } = await setup();
    const set = await tokens.getTokenSet();
    expect(set.tokenType).toBe("DPoP");
    const [request] = tokenServer.received;
    const proof = await checkProof(request?.dpop ?? "", {
      method: "POST",
      url: tokenServer.tokenEndpoint,
    });
    expect(proof.jkt).toBe(await tokens.dpopKeyThumbprint());
    expect(proof.nonce).toBeUndefined();
    expect(await tokens.getToken()).toBe(set.accessToken);
    expect(tokens.stats()).toMatchObject({ tokenRequests: 1, dpopProofs: 1 });
  });

  it("answers the server's use_dpop_nonce once, with the nonce it was given", async () => {
    const { tokenServer, tokens } = await setup();
    tokenServer.queue({
      kind: "json",
      status: 400,
      body: { error: "use_dpop_nonce", error_description: "nonce required" },
      headers: { "dpop-nonce": "as-nonce-1" },
    });
    expect(await tokens.getToken()).toBe("token-1");
    const proofs = await Promise.all(
      tokenServer.received.map((r) =>
        checkProof(r.dpop ?? "", { method: "POST", url: tokenServer.tokenEndpoint }),
      ),
    );
    expect(proofs.map((p) => p.nonce)).toEqual([undefined, "as-nonce-1"]);
    expect(new Set(proofs.map((p) => p.jti)).size).toBe(2);
    expect(tokens.stats()).toMatchObject({ tokenRequests: 2, dpopNonceRetries: 1, dpopProofs: 2 });
  });

  it("asks no more than twice when the server wants a new nonce every time", async () => {
    const { tokenServer, tokens } = await setup();
    let n = 0;
    tokenServer.fallback = {
      kind: "json",
      status: 400,
      body: { error: "use_dpop_nonce" },
      get headers() {
        n++;
        return { "dpop-nonce": `as-nonce-${n}` };
      },
    };
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "ERR_TOKEN_ENDPOINT",
      error: "use_dpop_nonce",
      retryable: false,
    });
    expect(tokenServer.requests).toBe(2);
  });

  it("refuses a Bearer token from a server that ignored the proof", async () => {
    const { tokenServer, tokens, events } = await setup();
    tokenServer.fallback = { kind: "token", tokenType: "Bearer", accessToken: "unbound-token" };
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ERR_TOKEN_INVALID_RESPONSE", retryable: false });
    expect(inspect(err, { depth: 10 })).not.toContain("unbound-token");
    expect(JSON.stringify(events)).not.toContain("unbound-token");
  });

  it("shares tokens between clients with the same key pair, never between different keys", async () => {
    const tokenServer = await startTokenServer();
    tokenServer.fallback = { kind: "token", tokenType: "DPoP" };
    cleanups.push(tokenServer.close);
    const store = memoryStore();
    const keyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify",
    ]);
    const client = (dpop: ClientCredentialsClientOptions["dpop"]) =>
      createClientCredentialsClient({
        tokenEndpoint: tokenServer.tokenEndpoint,
        clientId: "svc",
        clientSecret: "svc-secret",
        audience: "https://api.example.local",
        store,
        dpop,
      });
    const [a, b, own] = [client({ keyPair }), client({ keyPair }), client(true)];
    const [tokenA, tokenB, tokenOwn] = await Promise.all(
      [a, b, own].map((tokens) => tokens.getToken()),
    );
    expect(tokenA).toBe(tokenB);
    expect(tokenOwn).not.toBe(tokenA);
    expect(tokenServer.requests).toBe(2);
    const jwk = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
    expect(await a.dpopKeyThumbprint()).toBe(await calculateJwkThumbprint(jwk as never));
    expect(await own.dpopKeyThumbprint()).not.toBe(await a.dpopKeyThumbprint());
    await Promise.all([a, b, own].map((tokens) => tokens.close()));
  });

  it("refuses a key pair it cannot sign proofs with, when the client is created", async () => {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]);
    const hiddenPublic = await crypto.subtle.importKey(
      "jwk",
      await crypto.subtle.exportKey("jwk", pair.publicKey),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const base = { tokenEndpoint: "http://127.0.0.1:1/t", clientId: "c", clientSecret: "s" };
    const bad = [
      { keyPair: { privateKey: pair.publicKey, publicKey: pair.publicKey } },
      { keyPair: { privateKey: pair.privateKey, publicKey: hiddenPublic } },
      {} as never,
    ];
    for (const dpop of bad) {
      expect(() => createClientCredentialsClient({ ...base, dpop })).toThrow(TypeError);
    }
    expect(await createClientCredentialsClient(base).dpopKeyThumbprint()).toBeUndefined();
  });
});

describe("a client with a DPoP key, at a resource server", () => {
  it("sends Authorization: DPoP with a fresh proof for each request's method and URL", async () => {
    const { rs, tokens } = await setup();
    const first = await tokens.fetch(`${rs.url}/items?page=2#top`);
    expect(await bodyOf(first)).toMatchObject({ status: 200 });
    const second = await tokens.fetch(`${rs.url}/items`, { method: "POST", body: '{"name":"a"}' });
    expect(await bodyOf(second)).toEqual({
      status: 200,
      body: JSON.stringify({ method: "POST", body: '{"name":"a"}' }),
    });
    expect(rs.arrivals.map((a) => a.authorization)).toEqual(["DPoP token-1", "DPoP token-1"]);
    expect(rs.accepted.map((a) => a.url)).toEqual(["/items?page=2", "/items"]);
    expect(rs.accepted[0]?.proof.jti).not.toBe(rs.accepted[1]?.proof.jti);
    expect(tokens.stats()).toMatchObject({ dpopProofs: 3, dpopNonceRetries: 0 });
  });

  it("never reuses a jti, however many requests run at once", async () => {
    const { rs, tokens } = await setup();
    const responses = await Promise.all(
      Array.from({ length: 25 }, (_, i) => tokens.fetch(`${rs.url}/items/${i}`)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(25).fill(200));
    expect(new Set(rs.accepted.map((a) => a.proof.jti)).size).toBe(25);
  });

  it("answers the API's use_dpop_nonce by exactly one retry, body included, then sends the remembered nonce", async () => {
    const { rs, tokens } = await setup({ nonce: "required" });
    const first = await tokens.fetch(`${rs.url}/items`, { method: "POST", body: "payload" });
    expect(first.status).toBe(200);
    expect(rs.arrivals).toHaveLength(2);
    expect(rs.accepted[0]?.body).toBe("payload");
    const second = await tokens.fetch(`${rs.url}/items`);
    expect(second.status).toBe(200);
    expect(rs.arrivals).toHaveLength(3);
    expect(rs.accepted[1]?.proof.nonce).toBe(rs.accepted[0]?.proof.nonce);
    expect(tokens.stats()).toMatchObject({ dpopNonceRetries: 1 });
  });

  it("returns the second nonce challenge as it is, after one retry", async () => {
    const { rs, tokens } = await setup({ nonce: "always-new" });
    const response = await tokens.fetch(`${rs.url}/items`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("use_dpop_nonce");
    expect(rs.arrivals).toHaveLength(2);
  });

  it("after a DPoP invalid_token, drops the token, gets a new one and sends once more", async () => {
    const { rs, tokens, tokenServer } = await setup();
    await tokens.fetch(`${rs.url}/items`);
    rs.revoked.add("token-1");
    const response = await tokens.fetch(`${rs.url}/items`);
    expect(response.status).toBe(200);
    expect(rs.accepted.map((a) => a.accessToken)).toEqual(["token-1", "token-2"]);
    expect(tokenServer.requests).toBe(2);
    rs.revoked.add("token-2");
    rs.revoked.add("token-3");
    const arrived = rs.arrivals.length;
    expect((await tokens.fetch(`${rs.url}/items`)).status).toBe(401);
    expect(tokenServer.requests).toBe(3);
    expect(rs.arrivals.length - arrived).toBe(2);
  });

  it("takes a Bearer invalid_token challenge as a refused token too, and a proof error as final", async () => {
    const { tokens, tokenServer } = await setup();
    const answers = [
      'Bearer realm="api", error="invalid_token"',
      undefined,
      'DPoP error="invalid_dpop_proof", algs="ES256"',
    ];
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      const challenge = answers.shift();
      res.writeHead(challenge ? 401 : 200, challenge ? { "www-authenticate": challenge } : {});
      res.end();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    expect((await tokens.fetch(url)).status).toBe(200);
    expect(seen).toEqual(["DPoP token-1", "DPoP token-2"]);
    expect((await tokens.fetch(url)).status).toBe(401);
    expect(seen).toHaveLength(3);
    expect(tokenServer.requests).toBe(2);
  });

  it("is what createAuthorizedFetch gives a tRPC link", async () => {
    const t = initTRPC.create();
    const router = t.router({
      ping: t.procedure.query(() => "pong"),
      echo: t.procedure.input((v) => v as { text: string }).mutation(({ input }) => input.text),
    });
    const trpc = createHTTPHandler({ router });
    const { rs, tokens } = await setup({
      nonce: "required",
      handler: (req, res) => {
        req.url = req.url?.replace(/^\/trpc/, "");
        trpc(req, res);
      },
    });
    const client = createTRPCClient<typeof router>({
      links: [httpBatchLink({ url: `${rs.url}/trpc`, fetch: createAuthorizedFetch(tokens) })],
    });
    const [pong, echoed] = await Promise.all([
      client.ping.query(),
      client.echo.mutate({ text: "hi" }),
    ]);
    expect([pong, echoed]).toEqual(["pong", "hi"]);
    expect(rs.accepted.map((a) => a.method).sort()).toEqual(["GET", "POST"]);
  });

  it("puts no token, proof or key in an error or an event", async () => {
    const { rs, tokens, events, tokenServer } = await setup();
    await tokens.fetch(`${rs.url}/items`);
    await rs.close();
    const err = await tokens.fetch(`${rs.url}/items`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const told = inspect(err, { depth: 10 }) + JSON.stringify(events);
    const proofs = [...rs.arrivals.map((a) => a.proof), tokenServer.received[0]?.dpop];
    for (const secret of ["token-1", "DPoP ", ...proofs]) {
      expect(told).not.toContain(secret);
    }
  });
});
