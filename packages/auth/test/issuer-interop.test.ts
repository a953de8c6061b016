import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningIssuer, startIssuer } from "@repo/issuer";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ClientCredentialsClientOptions,
  createClientCredentialsClient,
} from "../src/token-client/index.js";

const AUDIENCE = "https://api.example.local";
let issuer: RunningIssuer;
let keysDir: string;

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "auth-interop-keys-"));
  issuer = await startIssuer({ port: 0, quiet: true, keysDir });
});

afterAll(async () => {
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

function client(options: Partial<ClientCredentialsClientOptions> = {}) {
  return createClientCredentialsClient({
    issuerBaseURL: issuer.issuer,
    clientId: "dev-writer",
    clientSecret: "dev-writer-secret",
    audience: AUDIENCE,
    ...options,
  });
}

describe("against the development issuer", () => {
  it("gets one verifiable token for many concurrent callers, through discovery", async () => {
    const tokens = client({ scope: "write:items read:items" });
    const results = await Promise.all(Array.from({ length: 200 }, () => tokens.getTokenSet()));
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    expect(tokens.stats().tokenRequests).toBe(1);
    const [set] = results;
    const { payload } = await jwtVerify(
      set?.accessToken ?? "",
      createRemoteJWKSet(new URL(issuer.jwksUri)),
      { issuer: issuer.issuer, audience: AUDIENCE },
    );
    expect(payload.exp).toBeGreaterThan(Date.now() / 1000);
    expect(set?.scope?.split(" ").sort()).toEqual(["read:items", "write:items"]);
    await tokens.close();
  });

  it("authenticates with client_secret_basic", async () => {
    const tokens = client({
      authMethod: "client_secret_basic",
      tokenEndpoint: issuer.tokenEndpoint,
    });
    expect(await tokens.getToken()).toMatch(/^ey/);
    await tokens.close();
  });

  it("reports a wrong secret as invalid_client, once, without retrying", async () => {
    const tokens = client({ clientSecret: "not-the-secret" });
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ERR_TOKEN_ENDPOINT", error: "invalid_client" });
    expect(tokens.stats()).toMatchObject({ tokenRequests: 1, tokenRequestFailures: 1 });
    expect(String(err)).not.toContain("not-the-secret");
    await tokens.close();
  });

  it("reports a scope the client was not granted as a non-retryable OAuth error", async () => {
    const tokens = client({ clientId: "dev-reader", clientSecret: "dev-reader-secret" });
    const err = await tokens.getToken({ scope: "write:items" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ERR_TOKEN_ENDPOINT", retryable: false });
    expect(tokens.stats().tokenRequests).toBe(1);
    await tokens.close();
  });
});
