import { readFileSync } from "node:fs";
import {
  claimsFor,
  generateTestKey,
  type JwksServer,
  signToken,
  startJwksServer,
} from "@repo/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NextServer, startNextServer, webDir } from "./next-server";

const AUDIENCE = "https://web.example.local/webhook";
const SCOPE = "write:items";
const key = generateTestKey("webhook-key");

let issuer: JwksServer;
let downIssuer: JwksServer;
let web: NextServer;
let webWithIssuerDown: NextServer;

function token(claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return signToken(key, {
    payload: claimsFor(issuer.issuer, AUDIENCE, now, { scope: SCOPE, ...claims }),
  });
}

function post(server: NextServer, authorization?: string, body = '{"type":"item.created"}') {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (authorization !== undefined) headers.authorization = authorization;
  return fetch(`${server.url}/api/webhook`, { method: "POST", headers, body });
}

const webhookEnv = (issuerBaseUrl: string) => ({
  ISSUER_BASE_URL: issuerBaseUrl,
  WEBHOOK_AUDIENCE: AUDIENCE,
  WEBHOOK_SCOPE: SCOPE,
});

beforeAll(async () => {
  issuer = await startJwksServer([key.publicJwk]);
  downIssuer = await startJwksServer([key.publicJwk]);
  downIssuer.setDiscoveryBehaviour({ kind: "status", status: 503 });
  const starting = await Promise.allSettled([
    startNextServer(webhookEnv(issuer.issuer)).then((server) => {
      web = server;
    }),
    startNextServer(webhookEnv(downIssuer.issuer)).then((server) => {
      webWithIssuerDown = server;
    }),
  ]);
  const failed = starting.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
});

afterAll(async () => {
  await Promise.all([web?.close(), webWithIssuerDown?.close()]);
  await Promise.all([issuer?.close(), downIssuer?.close()]);
});

describe("POST /api/webhook (edge runtime)", () => {
  it("is built for the edge runtime, with the WebCrypto build of @repo/auth", () => {
    const manifest = JSON.parse(
      readFileSync(`${webDir}.next/server/middleware-manifest.json`, "utf8"),
    ) as { functions: Record<string, { files: string[] }> };
    const route = manifest.functions["/api/webhook/route"];
    expect(route).toBeDefined();
    const code = (route?.files ?? [])
      .map((file) => readFileSync(`${webDir}.next/${file}`, "utf8"))
      .join("\n");
    expect(code).toContain("crypto.subtle.verify");
    expect(code).not.toContain("createPublicKey");
  });

  it("accepts an event from a caller with a valid token and the scope", async () => {
    const response = await post(web, `Bearer ${token()}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: "item.created", from: "client-1@clients" });
  });

  it("answers 401 with a Bearer challenge when no token is sent", async () => {
    const response = await post(web);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="webhook"');
  });

  it("answers 401 invalid_token for a token meant for another audience, or expired", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const claims of [
      { aud: "https://api.example.local" },
      { iat: now - 7200, exp: now - 3600 },
    ]) {
      const response = await post(web, `Bearer ${token(claims)}`);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(
        /^Bearer realm="webhook", error="invalid_token", error_description="[^"]+"$/,
      );
    }
  });

  it("answers 403 insufficient_scope naming the scope when the token lacks it", async () => {
    const response = await post(web, `Bearer ${token({ scope: "read:items" })}`);
    expect(response.status).toBe(403);
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer realm="webhook", error="insufficient_scope", scope="${SCOPE}"`,
    );
  });

  it("answers 400 for a malformed Authorization header, and for a body that is not an event", async () => {
    const malformed = await post(web, "Bearer one two");
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get("www-authenticate")).toBe(
      'Bearer realm="webhook", error="invalid_request"',
    );
    const notAnEvent = await post(web, `Bearer ${token()}`, "[1, 2, 3]");
    expect(notAnEvent.status).toBe(400);
  });

  it("answers 503 with Retry-After while the issuer's keys cannot be had", async () => {
    const response = await post(webWithIssuerDown, `Bearer ${token()}`);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
    expect(response.headers.get("www-authenticate")).toBeNull();
  });
});
