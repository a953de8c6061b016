// The token endpoint answers as Auth0's does, for form and JSON bodies alike.
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { connect } from "node:net";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyOfTestKeys } from "../test/support/keys-dir.js";
import { type RunningIssuer, startIssuer } from "./issuer-server.js";
import type { TenantConfig } from "./tenant.js";

const API = "https://api.example.local";
const OTHER_API = "https://other.example.local";

const tenant: TenantConfig = {
  apis: [
    { identifier: API, scopes: ["read:items", "write:items"], rbac: true },
    { identifier: OTHER_API, scopes: ["read:other"] },
  ],
  clients: [
    {
      clientId: "reader",
      clientSecret: "reader-secret",
      grants: [{ audience: API, scopes: ["read:items"] }],
    },
    {
      clientId: "writer",
      clientSecret: "writer-secret",
      grants: [{ audience: API, scopes: ["read:items", "write:items"] }],
    },
  ],
};

let issuer: RunningIssuer;
let keysDir: string;

beforeAll(async () => {
  keysDir = await copyOfTestKeys();
  issuer = await startIssuer({ port: 0, keysDir, tenant, quiet: true });
});

afterAll(async () => {
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

type Params = Record<string, string | string[] | number>;

async function postForm(params: Params, headers: Record<string, string> = {}) {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) form.append(name, String(item));
  }
  const response = await fetch(issuer.tokenEndpoint, { method: "POST", body: form, headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function postJson(body: unknown) {
  const response = await fetch(issuer.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const reader = {
  grant_type: "client_credentials",
  client_id: "reader",
  client_secret: "reader-secret",
};
const writer = {
  grant_type: "client_credentials",
  client_id: "writer",
  client_secret: "writer-secret",
};

describe.each([
  ["form", postForm],
  ["JSON", postJson],
] as const)("with a %s body", (_kind, post) => {
  it("issues a token for the audience with every granted scope", async () => {
    const { status, body } = await post({ ...writer, audience: API });
    expect(status).toBe(200);
    expect(body).toEqual({
      access_token: expect.any(String),
      scope: "read:items write:items",
      expires_in: 86_400,
      token_type: "Bearer",
    });
    expect(decodeJwt(body.access_token as string)).toMatchObject({
      aud: API,
      permissions: ["read:items", "write:items"],
    });
  });

  it("narrows the token to the requested scopes", async () => {
    const { status, body } = await post({ ...writer, audience: API, scope: "write:items" });
    expect(status).toBe(200);
    expect(body.scope).toBe("write:items");
    expect(decodeJwt(body.access_token as string).permissions).toEqual(["write:items"]);
  });

  it("accepts resource in place of audience", async () => {
    const { status, body } = await post({ ...reader, resource: API });
    expect(status).toBe(200);
    expect(decodeJwt(body.access_token as string).aud).toBe(API);
  });

  it.each([
    ["an unknown audience", { ...reader, audience: "https://unknown.example.local" }],
    ["no audience", { ...reader }],
    ["a scope the client was not granted", { ...reader, audience: API, scope: "write:items" }],
    ["a scope the API does not have", { ...reader, audience: API, scope: "delete:items" }],
    ["an API the client has no grant for", { ...writer, audience: OTHER_API }],
  ])("answers 403 access_denied for %s", async (_case, params) => {
    const { status, body } = await post(params);
    expect(status).toBe(403);
    expect(body.error).toBe("access_denied");
    expect(body).not.toHaveProperty("access_token");
  });

  it.each([
    ["a wrong secret", { ...reader, client_secret: "wrong", audience: API }],
    ["an unknown client", { ...reader, client_id: "nobody", audience: API }],
  ])("answers 401 invalid_client for %s", async (_case, params) => {
    const { status, body } = await post(params);
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
  });

  it("answers 400 invalid_request when audience and resource disagree", async () => {
    const { status, body } = await post({ ...reader, audience: API, resource: OTHER_API });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });

  it("answers 400 invalid_target for two resource values", async () => {
    const { status, body } = await post({ ...reader, resource: [API, OTHER_API] });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_target");
  });

  it("answers 400 invalid_request for two audience values", async () => {
    const { status, body } = await post({ ...reader, audience: [API, OTHER_API] });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });

  it("answers 403 unauthorized_client for a grant the client may not use, as Auth0 does", async () => {
    const { status, body } = await post({ ...reader, grant_type: "authorization_code", code: "x" });
    expect(status).toBe(403);
    expect(body.error).toBe("unauthorized_client");
  });

  it("answers 400 unsupported_grant_type for an unknown grant", async () => {
    const { status, body } = await post({ ...reader, grant_type: "password", audience: API });
    expect(status).toBe(400);
    expect(body.error).toBe("unsupported_grant_type");
  });
});

describe("JSON bodies", () => {
  it.each([
    ["malformed JSON", "{"],
    ["an array", [1, 2]],
    ["a non-string parameter", { ...reader, audience: 42 }],
  ])("answers 400 invalid_request for %s", async (_case, body) => {
    const response = await postJson(body);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("invalid_request");
  });

  it("answers 400 invalid_request for a body over the limit", async () => {
    const response = await postJson({ ...reader, audience: API, padding: "x".repeat(60_000) });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("invalid_request");
  });

  it("keeps serving after a client hangs up mid-body", async () => {
    const socket = connect(issuer.port, "127.0.0.1");
    await once(socket, "connect");
    socket.end(
      "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        'Content-Length: 500\r\n\r\n{"grant_type":',
    );
    socket.destroy();
    await once(socket, "close");
    expect((await postJson({ ...reader, audience: API })).status).toBe(200);
  });

  it("keeps the connection usable for the next request", async () => {
    for (let i = 0; i < 3; i++) {
      expect((await postJson({ ...reader, audience: API })).status).toBe(200);
    }
  });
});

describe("other requests", () => {
  it("answers 400 invalid_request for a body that is neither form nor JSON", async () => {
    const response = await fetch(issuer.tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "grant_type=client_credentials",
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe("invalid_request");
  });

  it("answers errors in JSON even to a caller that prefers HTML", async () => {
    const { status, body } = await postForm(
      { ...reader, client_secret: "wrong", audience: API },
      { accept: "text/html" },
    );
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
  });

  it("answers a JSON 404 for a path that is not an endpoint", async () => {
    const response = await fetch(new URL("/no-such-endpoint", issuer.issuer));
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe("not_found");
  });
});

it("never echoes the client secret in an error", async () => {
  const secret = "a-very-recognisable-secret";
  const { body } = await postForm({ ...reader, client_secret: secret, audience: API });
  expect(JSON.stringify(body)).not.toContain(secret);
});
