import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startTokenServer, type TokenServer } from "../../test/support/token-server.js";
import { createClientCredentialsClient } from "./client-credentials-client.js";
import { DiscoveryIssuerMismatchError, InvalidTokenResponseError } from "./errors.js";

const SECRET = "s3cret-never-sent-to-a-lying-issuer";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A discovery server for the issuer `<origin>/tenant/`, whose document names `issuer(origin)` and
 * sends token requests to `tokens`.
 */
async function startDiscovery(tokens: TokenServer, issuer: (origin: string) => string) {
  const server = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url !== "/tenant/.well-known/openid-configuration") return res.writeHead(404).end();
    const document = { issuer: issuer(origin), token_endpoint: tokens.tokenEndpoint };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function clientFor(issuer: (origin: string) => string, issuerBaseURL = "/tenant/") {
  const tokens = await startTokenServer();
  cleanups.push(tokens.close);
  const origin = await startDiscovery(tokens, issuer);
  const client = createClientCredentialsClient({
    issuerBaseURL: `${origin}${issuerBaseURL}`,
    clientId: "svc",
    clientSecret: SECRET,
    audience: "https://api.example.local",
    retry: false,
  });
  cleanups.push(client.close);
  return { client, tokens, origin };
}

describe("discovery names the configured issuer, or nothing in it is used", () => {
  it("refuses a document naming another issuer with a typed error, before any token request", async () => {
    const { client, tokens, origin } = await clientFor(() => "https://attacker.example/");
    const error = await client.getToken().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DiscoveryIssuerMismatchError);
    expect(error).toBeInstanceOf(InvalidTokenResponseError);
    expect(error).toMatchObject({
      code: "ERR_TOKEN_INVALID_RESPONSE",
      retryable: false,
      expected: `${origin}/tenant/`,
      found: "https://attacker.example/",
    });
    expect(tokens.requests).toBe(0);
    expect(`${String(error)} ${JSON.stringify(error)}`).not.toContain(SECRET);
  });

  it.each([
    ["an upper-case scheme", (origin: string) => `${origin.replace("http:", "HTTP:")}/tenant/`],
    ["another path", (origin: string) => `${origin}/other/`],
    ["two more slashes", (origin: string) => `${origin}/tenant///`],
    ["no issuer URL at all", () => "tenant"],
  ])("refuses a document spelling the issuer with %s", async (_, issuer) => {
    const { client, tokens } = await clientFor(issuer);
    await expect(client.getToken()).rejects.toBeInstanceOf(DiscoveryIssuerMismatchError);
    expect(tokens.requests).toBe(0);
  });

  it("tolerates one trailing slash of difference, either way, as the verifier does", async () => {
    const withoutSlash = await clientFor((origin) => `${origin}/tenant`);
    expect(await withoutSlash.client.getToken()).toBe("token-1");
    const withSlash = await clientFor((origin) => `${origin}/tenant/`, "/tenant");
    expect(await withSlash.client.getToken()).toBe("token-1");
  });
});
