import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, createSigner, m2mClaims } from "./fixtures/signer.js";
import { callTrpc, startTestApi } from "./fixtures/test-api.js";

const ATTACKER = "https://attacker.example/";
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

/** Discovery naming `issuer` (by default its own address) and a JWKS publishing `keys`. */
async function startMetadataServer(keys: object[], issuer?: string) {
  const server = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const body =
      req.url === "/.well-known/openid-configuration"
        ? { issuer: issuer ?? `${origin}/`, jwks_uri: `${origin}/jwks.json` }
        : req.url === "/jwks.json"
          ? { keys }
          : undefined;
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function startApi(issuerBaseURL: string) {
  const started = await startTestApi({ ISSUER_BASE_URL: issuerBaseURL, AUDIENCE });
  cleanup.push(() => started.api.close());
  return started;
}

describe("what the authorization server publishes is checked before it is trusted", () => {
  it("metadata naming another issuer: 503 with Retry-After for tokens of either issuer, /readyz 503, and an error line", async () => {
    const signer = await createSigner();
    const base = await startMetadataServer([signer.publicJwk], ATTACKER);
    const { api, logs } = await startApi(base);

    for (const iss of [base, ATTACKER]) {
      const authorization = `Bearer ${await signer.sign(m2mClaims(iss))}`;
      const answer = await callTrpc(api, "whoami", { authorization });
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toMatch(/^\d+$/);
    }
    expect((await fetch(`${api.url}/readyz`)).status).toBe(503);
    expect(logs.records()).toContainEqual(
      expect.objectContaining({
        level: 50,
        msg: "discovery metadata names another issuer; its keys are not used",
        expected: base,
        found: ATTACKER,
      }),
    );
  });

  it("a key with a forgeable exponent is dropped with a warning line that carries no key material, and the good key serves", async () => {
    const signer = await createSigner();
    const weak = { ...signer.publicJwk, kid: "weak", e: "AQ" };
    const base = await startMetadataServer([weak, signer.publicJwk]);
    const { api, logs } = await startApi(base);

    const authorization = `Bearer ${await signer.sign(m2mClaims(base))}`;
    expect((await callTrpc(api, "whoami", { authorization })).status).toBe(200);
    expect(logs.records()).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: "jwks key rejected",
        kid: "weak",
        reason: "rsa_exponent",
      }),
    );
    expect(logs.lines.join("\n")).not.toContain(String(signer.publicJwk.n));
  });
});
