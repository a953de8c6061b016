import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { initTRPC } from "@trpc/server";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { afterEach, describe, expect, it } from "vitest";
import { startTokenServer } from "../../test/support/token-server.js";
import { createAuthorizedFetch } from "./authorized-fetch.js";
import { createClientCredentialsClient } from "./client-credentials-client.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const t = initTRPC.context<{ token: string }>().create();
const appRouter = t.router({
  whoami: t.procedure.query(({ ctx }) => ({ token: ctx.token })),
  echo: t.procedure.input((v) => v as { text: string }).mutation(({ input }) => input.text),
});

/** A tRPC API that rejects revoked tokens the way RFC 6750 says, before tRPC sees the call. */
async function startApi(revoked: Set<string>) {
  const seen: Array<string | undefined> = [];
  const trpc = createHTTPHandler({
    router: appRouter,
    createContext: ({ req }) => ({ token: req.headers.authorization?.slice(7) ?? "" }),
  });
  const server: Server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    const token = req.headers.authorization?.replace(/^Bearer /, "");
    if (!token || revoked.has(token)) {
      res.writeHead(401, {
        "www-authenticate": token
          ? 'Bearer realm="api", error="invalid_token", error_description="revoked"'
          : 'Bearer realm="api"',
      });
      return res.end();
    }
    req.url = req.url?.replace(/^\/trpc/, "");
    trpc(req, res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`, seen };
}

async function setup() {
  const tokenServer = await startTokenServer();
  const tokens = createClientCredentialsClient({
    tokenEndpoint: tokenServer.tokenEndpoint,
    clientId: "web",
    clientSecret: "web-secret",
    audience: "https://api.example.local",
  });
  cleanups.push(tokenServer.close, tokens.close);
  const revoked = new Set<string>();
  const api = await startApi(revoked);
  const client = createTRPCClient<typeof appRouter>({
    links: [httpBatchLink({ url: api.url, fetch: createAuthorizedFetch(tokens) })],
  });
  return { tokenServer, tokens, revoked, api, client };
}

describe("createAuthorizedFetch with tRPC's httpBatchLink", () => {
  it("sends the bearer token on batched calls", async () => {
    const { client, api, tokenServer } = await setup();
    const [a, b] = await Promise.all([client.whoami.query(), client.whoami.query()]);
    expect(a.token).toBe("token-1");
    expect(b.token).toBe("token-1");
    expect(api.seen).toEqual(["Bearer token-1"]);
    expect(tokenServer.requests).toBe(1);
  });

  it("after a 401 invalid_token, drops the token, gets a new one and replays the call once", async () => {
    const { client, api, revoked, tokenServer } = await setup();
    await client.whoami.query();
    revoked.add("token-1");
    expect(await client.echo.mutate({ text: "replayed body" })).toBe("replayed body");
    expect(api.seen).toEqual(["Bearer token-1", "Bearer token-1", "Bearer token-2"]);
    expect(tokenServer.requests).toBe(2);
  });

  it("returns the second 401 instead of looping", async () => {
    const { client, api, revoked } = await setup();
    revoked.add("token-1");
    revoked.add("token-2");
    await expect(client.whoami.query()).rejects.toBeInstanceOf(TRPCClientError);
    expect(api.seen).toEqual(["Bearer token-1", "Bearer token-2"]);
  });

  it("does not retry a 401 without invalid_token", async () => {
    const { tokens, api, tokenServer } = await setup();
    const authorizedFetch = createAuthorizedFetch(tokens, {
      fetch: (input, init) => {
        const request = new Request(input, init);
        request.headers.delete("authorization");
        return fetch(request);
      },
    });
    const response = await authorizedFetch(`${api.url}/whoami`);
    expect(response.status).toBe(401);
    expect(api.seen).toEqual([undefined]);
    expect(tokenServer.requests).toBe(1);
  });

  it("retries at once when the fetch underneath keeps a copy of each response, as Next's does", async () => {
    const { tokens, api, revoked, tokenServer } = await setup();
    // Next's fetch dedupes by handing out clones: the rejected response's body is one branch of a
    // tee whose other branch nobody reads, so cancelling it does not settle until that one is gone.
    const unread: Response[] = [];
    const cloning: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      unread.push(response.clone());
      return response;
    };
    const authorizedFetch = createAuthorizedFetch(tokens, { fetch: cloning });
    await tokens.getToken();
    revoked.add("token-1");
    const response = await authorizedFetch(`${api.url}/whoami`);
    expect(response.status).toBe(200);
    expect(api.seen).toEqual(["Bearer token-1", "Bearer token-2"]);
    expect(tokenServer.requests).toBe(2);
    expect(unread).toHaveLength(2);
  });
});
