import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuthorizedFetch, createClientCredentialsClient } from "@repo/auth";
import { type RunningIssuer, startIssuer } from "@repo/issuer";
import { createTRPCClient, httpBatchLink, httpBatchStreamLink, httpLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "../src/index.js";
import { startTestApi } from "./fixtures/test-api.js";

// The token client with `dpop: true`, the development issuer's dev-dpop client and the API, end to
// end over HTTP: bound tokens from the issuer, a fresh proof per request, through every tRPC link.
const AUDIENCE = "https://api.example.local";
let issuer: RunningIssuer;
let keysDir: string;

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "api-dpop-issuer-"));
  issuer = await startIssuer({ port: 0, quiet: true, keysDir });
});
afterAll(async () => {
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

const LINKS = { httpLink, httpBatchLink, httpBatchStreamLink } as const;

describe("the DPoP token client against the API and the development issuer", () => {
  it.each(Object.keys(LINKS) as (keyof typeof LINKS)[])(
    "calls protected procedures with bound tokens through %s",
    async (link) => {
      const { api } = await startTestApi({ ISSUER_BASE_URL: issuer.issuer, AUDIENCE });
      const tokens = createClientCredentialsClient({
        issuerBaseURL: issuer.issuer,
        clientId: "dev-dpop",
        clientSecret: "dev-dpop-secret",
        audience: AUDIENCE,
        dpop: true,
      });
      try {
        const trpc = createTRPCClient<AppRouter>({
          links: [LINKS[link]({ url: api.trpcUrl, fetch: createAuthorizedFetch(tokens) })],
        });
        const [who, binding, items] = await Promise.all([
          trpc.whoami.query(),
          trpc.binding.query(),
          trpc.items.list.query(),
        ]);
        expect(who.clientId).toBe("dev-dpop");
        expect(binding.jkt).toBe(await tokens.dpopKeyThumbprint());
        expect(Array.isArray(items.items)).toBe(true);
        expect(tokens.stats().dpopProofs).toBeGreaterThanOrEqual(2);
      } finally {
        await tokens.close();
        await api.close();
      }
    },
  );

  it("goes through the API's nonce challenge once, then reuses the nonce", async () => {
    const { api } = await startTestApi({
      ISSUER_BASE_URL: issuer.issuer,
      AUDIENCE,
      DPOP_NONCE: "on",
      DPOP_NONCE_SECRET: "n".repeat(32),
    });
    const tokens = createClientCredentialsClient({
      issuerBaseURL: issuer.issuer,
      clientId: "dev-dpop",
      clientSecret: "dev-dpop-secret",
      audience: AUDIENCE,
      dpop: true,
    });
    try {
      const trpc = createTRPCClient<AppRouter>({
        links: [httpLink({ url: api.trpcUrl, fetch: createAuthorizedFetch(tokens) })],
      });
      expect((await trpc.binding.query()).jkt).toBe(await tokens.dpopKeyThumbprint());
      await trpc.whoami.query();
      expect(tokens.stats().dpopNonceRetries).toBe(1);
    } finally {
      await tokens.close();
      await api.close();
    }
  });
});
