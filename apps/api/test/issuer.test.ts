import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningIssuer, startIssuer } from "@repo/issuer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiServer } from "../src/server.js";
import { NO_CREDENTIALS_CHALLENGE } from "./fixtures/challenges.js";
import { createSigner, m2mClaims } from "./fixtures/signer.js";
import { callTrpc, startTestApi } from "./fixtures/test-api.js";
import { waitFor } from "./fixtures/wait-for.js";

// Real tokens: the API discovers the development issuer (apps/issuer) and verifies what its token
// endpoint hands the seeded clients.
let keysDir: string;
let issuer: RunningIssuer;
let api: ApiServer;

async function clientCredentials(clientId: string, clientSecret: string): Promise<string> {
  const res = await fetch(issuer.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
      audience: "https://api.example.local",
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "api-issuer-keys-"));
  issuer = await startIssuer({ port: 0, keysDir, quiet: true });
  ({ api } = await startTestApi({ ISSUER_BASE_URL: issuer.issuer }));
});

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

describe("with tokens from the development issuer", () => {
  it("lets dev-reader list items but not create them", async () => {
    const authorization = `Bearer ${await clientCredentials("dev-reader", "dev-reader-secret")}`;
    const whoami = await callTrpc(api, "whoami", { authorization });
    expect(whoami.status).toBe(200);
    expect(whoami.body).toMatchObject({
      result: { data: { clientId: "dev-reader", scopes: ["read:items"] } },
    });

    expect((await callTrpc(api, "items.list", { authorization })).status).toBe(200);
    const create = await callTrpc(api, "items.create", {
      authorization,
      method: "POST",
      input: { name: "from reader" },
    });
    expect(create.status).toBe(403);
    expect(create.headers.get("www-authenticate")).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="write:items"',
    );
  });

  it("lets dev-writer create and list items", async () => {
    const authorization = `Bearer ${await clientCredentials("dev-writer", "dev-writer-secret")}`;
    const create = await callTrpc(api, "items.create", {
      authorization,
      method: "POST",
      input: { name: "from writer" },
    });
    expect(create.status).toBe(200);
    const list = await callTrpc(api, "items.list", { authorization });
    expect(list.body).toMatchObject({
      result: {
        data: {
          items: [expect.objectContaining({ name: "from writer", clientId: "dev-writer" })],
          nextCursor: null,
        },
      },
    });
  });

  it("refuses missing, malformed, expired, wrong-audience and foreign-key tokens", async () => {
    const none = await callTrpc(api, "whoami");
    expect([none.status, none.headers.get("www-authenticate")]).toEqual([
      401,
      NO_CREDENTIALS_CHALLENGE,
    ]);
    expect((await callTrpc(api, "whoami", { authorization: "Bearer a b" })).status).toBe(400);

    const now = Math.floor(Date.now() / 1000);
    const stranger = await createSigner(issuer.signingKid());
    const refused = {
      expired: await issuer.signAccessToken({ iat: now - 7200, exp: now - 3600 }),
      audience: await issuer.signAccessToken({ aud: "https://another-api.example" }),
      signature: await stranger.sign(m2mClaims(issuer.issuer)),
      unknown_key: await (await createSigner()).sign(m2mClaims(issuer.issuer)),
    };
    for (const [reason, token] of Object.entries(refused)) {
      const res = await callTrpc(api, "whoami", { authorization: `Bearer ${token}` });
      expect(res.status, reason).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
      expect(res.body).toMatchObject({ error: { data: { auth: { reason } } } });
    }
  });

  it("verifies tokens signed before and after a key rotation", async () => {
    const before = await clientCredentials("dev-writer", "dev-writer-secret");
    await issuer.rotateKeys();
    const after = await clientCredentials("dev-writer", "dev-writer-secret");
    expect(after).not.toBe(before);

    await waitFor(
      async () =>
        (await callTrpc(api, "whoami", { authorization: `Bearer ${after}` })).status === 200,
      "a token signed with the new key to verify",
    );
    expect((await callTrpc(api, "whoami", { authorization: `Bearer ${before}` })).status).toBe(200);
  });
});
