import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiServer } from "../src/server.js";
import { NO_CREDENTIALS_CHALLENGE } from "./fixtures/challenges.js";
import { type KeyServer, startKeyServer } from "./fixtures/key-server.js";
import type { createLogSink } from "./fixtures/log-sink.js";
import { AUDIENCE, createSigner, m2mClaims, type Signer } from "./fixtures/signer.js";
import { callTrpc, metricValue, startTestApi } from "./fixtures/test-api.js";
import { waitFor } from "./fixtures/wait-for.js";

// The API trusts a local authorization server (discovery + JWKS) whose key this suite holds, so it
// can mint every kind of token: valid, expired, for another audience, or signed by another key.
let signer: Signer;
let stranger: Signer;
let keys: KeyServer;
let api: ApiServer;
let logs: ReturnType<typeof createLogSink>;
const issued: string[] = [];

const token = async (overrides: Parameters<typeof m2mClaims>[1] = {}, by = signer) => {
  const jwt = await by.sign(m2mClaims(keys.issuer, overrides));
  issued.push(jwt);
  return jwt;
};
const bearer = async (overrides: Parameters<typeof m2mClaims>[1] = {}) =>
  `Bearer ${await token(overrides)}`;

beforeAll(async () => {
  [signer, stranger] = await Promise.all([createSigner(), createSigner()]);
  keys = await startKeyServer(() => [signer.publicJwk]);
  ({ api, logs } = await startTestApi({ ISSUER_BASE_URL: keys.issuer, AUDIENCE }));
});

afterAll(async () => {
  await api?.close();
  await keys?.close();
});

describe("plain routes", () => {
  it("answers /healthz, then /readyz once keys are loaded", async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const ready = await waitFor(async () => {
      const res = await fetch(`${api.url}/readyz`);
      return res.status === 200 && ((await res.json()) as { jwks: { state: string } });
    }, "readyz");
    expect(ready.jwks).toMatchObject({ state: "fresh", keys: 1 });
  });

  it("serves Prometheus metrics and 404s anything else", async () => {
    const res = await fetch(`${api.url}/metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(await res.text()).toContain('api_jwks_state{state="fresh"} 1');
    expect((await fetch(`${api.url}/nope`)).status).toBe(404);
  });
});

describe("answers on the wire (RFC 6750)", () => {
  it("401 with a bare challenge when no bearer token is sent", async () => {
    for (const authorization of [undefined, "Basic dXNlcjpwYXNz"]) {
      const res = await callTrpc(api, "whoami", { authorization });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe(NO_CREDENTIALS_CHALLENGE);
      expect(res.body).toMatchObject({
        error: { data: { code: "UNAUTHORIZED", auth: { code: "ERR_AUTH_MISSING_TOKEN" } } },
      });
    }
  });

  it("400 invalid_request for a malformed header", async () => {
    const jwt = await token();
    const malformed = ["Bearer ", "Bearer a b", `Bearer\t${jwt}`, `Bearer ${jwt}, Bearer ${jwt}`];
    for (const authorization of malformed) {
      const res = await callTrpc(api, "whoami", { authorization });
      expect(res.status, authorization).toBe(400);
      expect(res.headers.get("www-authenticate")).toBe(
        'Bearer realm="api", error="invalid_request"',
      );
    }
    const repeated = await callTrpc(api, "whoami", {
      headers: [
        ["authorization", `Bearer ${jwt}`],
        ["authorization", `Bearer ${jwt}`],
      ],
    });
    expect(repeated.status).toBe(400);
  });

  it("401 invalid_token for expired, wrong-audience, foreign-key and tampered tokens", async () => {
    const now = Math.floor(Date.now() / 1000);
    const tokens = {
      expired: await token({ iat: now - 7200, exp: now - 3600 }),
      audience: await token({ aud: "https://other-api.example" }),
      unknown_key: await token({}, stranger),
      signature: await stranger.sign(m2mClaims(keys.issuer), { kid: signer.kid }),
      tampered: (await token()).replace(/\.([^.]+)\./, (_, payload: string) => {
        const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
        return `.${Buffer.from(JSON.stringify({ ...claims, scope: "write:items" })).toString("base64url")}.`;
      }),
    };
    for (const [reason, jwt] of Object.entries(tokens)) {
      const res = await callTrpc(api, "whoami", { authorization: `Bearer ${jwt}` });
      expect(res.status, reason).toBe(401);
      const challenge = res.headers.get("www-authenticate") ?? "";
      expect(challenge).toMatch(
        /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/,
      );
      expect(challenge).not.toContain(jwt.split(".")[1]);
      expect(JSON.stringify(res.body)).not.toContain(jwt.split(".")[1]);
    }
  });

  it("never a 500 for a signed exp beyond what a date can hold", async () => {
    for (const exp of [1e13, Number.MAX_SAFE_INTEGER, 1e308]) {
      const res = await callTrpc(api, "whoami", { authorization: await bearer({ exp }) });
      expect(res.status, String(exp)).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    }
  });

  it("200 for a reader's list, 403 insufficient_scope for its create", async () => {
    const authorization = await bearer({ scope: "read:items" });
    const list = await callTrpc(api, "items.list", { authorization });
    expect(list.status).toBe(200);
    expect(list.headers.get("www-authenticate")).toBeNull();

    const create = await callTrpc(api, "items.create", {
      authorization,
      method: "POST",
      input: { name: "refused" },
    });
    expect(create.status).toBe(403);
    expect(create.headers.get("www-authenticate")).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="write:items"',
    );
    expect(create.body).toMatchObject({
      error: { data: { code: "FORBIDDEN", auth: { missingScopes: ["write:items"] } } },
    });
  });

  it("200 for a writer's create, then the item is listed", async () => {
    const authorization = await bearer({ scope: "read:items write:items", sub: "writer@clients" });
    const create = await callTrpc(api, "items.create", {
      authorization,
      method: "POST",
      input: { name: "widget" },
    });
    expect(create.status).toBe(200);
    const list = await callTrpc(api, "items.list", { authorization });
    expect(list.body).toMatchObject({
      result: {
        data: {
          items: expect.arrayContaining([
            expect.objectContaining({ name: "widget", createdBy: "writer@clients" }),
          ]),
          nextCursor: null,
        },
      },
    });
  });

  it("400 with a readable message and the fields at fault for an invalid input", async () => {
    const authorization = await bearer({ scope: "write:items" });
    const create = (input: unknown) =>
      callTrpc(api, "items.create", { authorization, method: "POST", input });
    const empty = await create({ name: "  " });
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({
      error: {
        message: "Invalid input: name must not be empty",
        data: {
          code: "BAD_REQUEST",
          input: { formErrors: [], fieldErrors: { name: ["must not be empty"] } },
        },
      },
    });
    expect((await create({})).body).toMatchObject({
      error: { message: "Invalid input: name is required" },
    });
    expect((await create("widget")).body).toMatchObject({
      error: {
        message: "Invalid input: must be an object with a name",
        data: { input: { formErrors: ["must be an object with a name"], fieldErrors: {} } },
      },
    });
    // Other errors carry no input details.
    expect((await callTrpc(api, "whoami")).body).toMatchObject({
      error: { data: { input: null } },
    });
  });

  it("with SCOPES_FROM=permissions, Auth0's RBAC permissions decide, not the scope claim", async () => {
    const { api: rbacApi } = await startTestApi({
      ISSUER_BASE_URL: keys.issuer,
      AUDIENCE,
      SCOPES_FROM: "permissions",
    });
    try {
      const create = async (claims: Parameters<typeof m2mClaims>[1]) =>
        callTrpc(rbacApi, "items.create", {
          authorization: await bearer(claims),
          method: "POST",
          input: { name: "rbac" },
        });
      const scopeOnly = await create({
        scope: "read:items write:items",
        permissions: ["read:items"],
      });
      expect(scopeOnly.status).toBe(403);
      expect(scopeOnly.headers.get("www-authenticate")).toBe(
        'Bearer realm="api", error="insufficient_scope", scope="write:items"',
      );
      expect((await create({ scope: "", permissions: ["write:items"] })).status).toBe(200);
      const whoami = await callTrpc(rbacApi, "whoami", {
        authorization: await bearer({ scope: "read:items", permissions: ["write:items"] }),
      });
      expect(whoami.body).toMatchObject({ result: { data: { scopes: ["write:items"] } } });
      // The default API reads the scope claim and ignores permissions.
      const defaultApi = await callTrpc(api, "items.create", {
        authorization: await bearer({ scope: "read:items", permissions: ["write:items"] }),
        method: "POST",
        input: { name: "rbac" },
      });
      expect(defaultApi.status).toBe(403);
    } finally {
      await rbacApi.close();
    }
  });

  it("a batch mixing a public and a failing protected call: 207, the challenge, the public result", async () => {
    const res = await callTrpc(api, ["health", "whoami"]);
    expect(res.status).toBe(207);
    expect(res.headers.get("www-authenticate")).toBe(NO_CREDENTIALS_CHALLENGE);
    const [health, whoami] = res.body as [
      { result: { data: { status: string } } },
      { error: { data: { httpStatus: number } } },
    ];
    expect(health.result.data.status).toBe("ok");
    expect(whoami.error.data.httpStatus).toBe(401);
  });

  it("a batch whose calls fail alike gets their status; scope failures name every missing scope", async () => {
    const none = await callTrpc(api, ["whoami", "items.list"]);
    expect(none.status).toBe(401);

    const authorization = await bearer({ scope: "" });
    const scoped = await callTrpc(api, ["items.list", "whoami"], { authorization });
    expect(scoped.status).toBe(207);
    expect(scoped.headers.get("www-authenticate")).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="read:items"',
    );
  });
});

describe("hostile Authorization headers", () => {
  it("answer only 400 or 401 with a challenge, never a 5xx", async () => {
    const visible = fc.stringMatching(/^[\x20-\x7e\t]{0,60}$/);
    const header = fc.oneof(
      visible,
      visible.map((rest) => `Bearer ${rest}`),
      fc
        .tuple(fc.base64String(), fc.base64String(), fc.base64String())
        .map((parts) => `Bearer ${parts.join(".")}`),
      fc.constantFrom("Bearer", "bearer  x", "BEARER x.y.z", "Bearer x,y", "Basic ,"),
    );
    await fc.assert(
      fc.asyncProperty(header, async (authorization) => {
        const res = await callTrpc(api, "whoami", { authorization });
        expect([400, 401]).toContain(res.status);
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="api"/);
      }),
      { numRuns: 150 },
    );
  });
});

describe("observability", () => {
  it("verifies a batch's token once and the same token again from the verified-token cache", async () => {
    const authorization = await bearer({ scope: "read:items" });
    const okBefore = await metricValue(api, "api_token_verifications_total", { result: "ok" });
    const hitsBefore = await metricValue(api, "api_verified_token_cache_total", { result: "hit" });

    expect((await callTrpc(api, ["whoami", "items.list"], { authorization })).status).toBe(200);
    expect(await metricValue(api, "api_token_verifications_total", { result: "ok" })).toBe(
      okBefore + 1,
    );
    expect(await metricValue(api, "api_verified_token_cache_total", { result: "hit" })).toBe(
      hitsBefore,
    );

    expect((await callTrpc(api, "whoami", { authorization })).status).toBe(200);
    expect(await metricValue(api, "api_verified_token_cache_total", { result: "hit" })).toBe(
      hitsBefore + 1,
    );
  });

  it("counts calls by procedure and status, and rejections by code", async () => {
    const before = await metricValue(api, "api_requests_total", {
      procedure: "whoami",
      status: "401",
    });
    const rejected = await metricValue(api, "api_token_verifications_total", {
      result: "rejected",
      code: "ERR_AUTH_MISSING_TOKEN",
    });
    await callTrpc(api, "whoami");
    expect(
      await metricValue(api, "api_requests_total", { procedure: "whoami", status: "401" }),
    ).toBe(before + 1);
    expect(
      await metricValue(api, "api_token_verifications_total", {
        result: "rejected",
        code: "ERR_AUTH_MISSING_TOKEN",
      }),
    ).toBe(rejected + 1);
    expect(
      await metricValue(api, "api_jwks_fetches_total", { resource: "jwks", outcome: "ok" }),
    ).toBeGreaterThan(0);
  });

  it("logs one line per request with the caller or the auth error, never a token", async () => {
    const authorization = await bearer({
      scope: "read:items",
      sub: "logged@clients",
      azp: "logged",
    });
    await callTrpc(api, "whoami", { authorization: "Bearer not.a.token" });
    await callTrpc(api, "whoami", { authorization });
    const linesOfCaller = () => logs.records().filter((line) => line.sub === "logged@clients");
    await waitFor(() => linesOfCaller().length > 0, "the request's log line");
    expect(linesOfCaller()).toHaveLength(1);

    const records = logs.records().filter((line) => line.msg === "request");
    expect(records).toContainEqual(
      expect.objectContaining({
        procedures: ["whoami"],
        status: 200,
        sub: "logged@clients",
        azp: "logged",
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        status: 401,
        authError: "ERR_AUTH_INVALID_TOKEN",
        authReason: "malformed",
      }),
    );
    const everything = logs.lines.join("\n");
    for (const jwt of issued) {
      for (const part of jwt.split(".")) expect(everything).not.toContain(part);
    }
    expect(everything).not.toContain("not.a.token");
    expect(everything.toLowerCase()).not.toContain("authorization");
  });
});

describe("keys unavailable", () => {
  it("answers 503 with Retry-After while the JWKS is down at start, then recovers", async () => {
    const outage = await startKeyServer(() => [signer.publicJwk], { down: true });
    const started = await startTestApi({
      JWKS_URI: outage.jwksUri,
      ISSUER: outage.issuer,
      AUDIENCE,
    });
    try {
      const authorization = `Bearer ${await signer.sign(m2mClaims(outage.issuer))}`;
      expect((await fetch(`${started.api.url}/readyz`)).status).toBe(503);

      const down = await callTrpc(started.api, "whoami", { authorization });
      expect(down.status).toBe(503);
      expect(Number(down.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(down.headers.get("www-authenticate")).toBeNull();
      expect(down.body).toMatchObject({ error: { data: { code: "SERVICE_UNAVAILABLE" } } });
      // A stream and a HEAD get the same answer before anything is sent.
      for (const [method, target, extra] of [
        ["GET", "whoami,health?batch=1", { "trpc-accept": "application/jsonl" }],
        ["HEAD", "whoami", {}],
      ] as const) {
        const res = await fetch(`${started.api.trpcUrl}/${target}`, {
          method,
          headers: { authorization, ...extra },
        });
        expect(res.status, method).toBe(503);
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        expect(res.headers.get("www-authenticate")).toBeNull();
      }

      const health = await callTrpc(started.api, "health");
      expect(health.body).toMatchObject({
        result: { data: { status: "unavailable", jwks: { state: "down" } } },
      });

      outage.setDown(false);
      await waitFor(
        async () => (await callTrpc(started.api, "whoami", { authorization })).status === 200,
        "recovery after the JWKS returns",
      );
      expect((await fetch(`${started.api.url}/readyz`)).status).toBe(200);
    } finally {
      await started.api.close();
      await outage.close();
    }
  });
});
