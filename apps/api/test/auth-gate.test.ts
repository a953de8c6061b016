import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_CREDENTIALS_CHALLENGE } from "./fixtures/challenges.js";
import { type RawAnswer, sendRaw } from "./fixtures/raw-http.js";
import { type SignedApi, startSignedApi } from "./fixtures/signed-api.js";
import { metricValue } from "./fixtures/test-api.js";
import { waitFor } from "./fixtures/wait-for.js";

// Auth decided at the HTTP layer, before tRPC writes a status: streamed batches, HEAD and every
// other method get the status of their auth failure, with its challenge.
let stack: SignedApi;

beforeAll(async () => {
  stack = await startSignedApi();
  await waitFor(async () => (await fetch(`${stack.api.url}/readyz`)).status === 200, "keys");
});
afterAll(() => stack?.close());

const bearer = (scope: string) => stack.bearer({ scope });
const send = (
  method: string,
  target: string,
  headers: [string, string][] = [],
  body?: string,
): Promise<RawAnswer> =>
  sendRaw(stack.api.url, { method, target: `/trpc/${target}`, headers, body });

const JSONL: [string, string][] = [["trpc-accept", "application/jsonl"]];
const CHALLENGE = NO_CREDENTIALS_CHALLENGE;

function expectAuthError(answer: RawAnswer, status: number, challenge: string | undefined) {
  expect(answer.status).toBe(status);
  expect(answer.headers["www-authenticate"]).toBe(challenge);
  expect(answer.headers["content-type"]).toBe("application/json");
}

describe("streamed batches (httpBatchStreamLink)", () => {
  it("answers a failed verification with its status and challenge, not a 200 stream", async () => {
    const targets = [
      "whoami,items.list?batch=1",
      "health,whoami?batch=1",
      "whoami?batch=1&input=%7B%7D",
      // Names and the batch flag read as tRPC reads them: percent-encoded, a fragment after them.
      "%77hoami,health?batch=1",
      "health%2Cwhoami?batch=1",
      "whoami,items.list?batch=1#fragment",
    ];
    for (const target of targets) {
      for (const header of [JSONL, [["accept", "application/jsonl"]] as [string, string][]]) {
        const answer = await send("GET", target, header);
        expectAuthError(answer, 401, CHALLENGE);
        expect(JSON.parse(answer.body), target).toMatchObject({
          error: {
            code: -32001,
            data: {
              code: "UNAUTHORIZED",
              httpStatus: 401,
              auth: { code: "ERR_AUTH_MISSING_TOKEN" },
            },
          },
        });
      }
    }
    const malformed = await send("GET", "whoami?batch=1", [
      ...JSONL,
      ["authorization", "Bearer a b"],
    ]);
    expectAuthError(malformed, 400, 'Bearer realm="api", error="invalid_request"');
    const forged = await send("GET", "whoami?batch=1", [
      ...JSONL,
      ["authorization", "Bearer not.a.token"],
    ]);
    expect(forged.status).toBe(401);
    expect(forged.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
  });

  it("answers a missing scope with 403 naming every scope the calls need", async () => {
    const scopeless = await bearer("");
    const list = await send("GET", "whoami,items.list?batch=1", [
      ...JSONL,
      ["authorization", scopeless],
    ]);
    expectAuthError(
      list,
      403,
      'Bearer realm="api", error="insufficient_scope", scope="read:items"',
    );
    expect(JSON.parse(list.body)).toMatchObject({
      error: { data: { code: "FORBIDDEN", auth: { missingScopes: ["read:items"] } } },
    });
    const create = await send(
      "POST",
      "items.create?batch=1",
      [
        ...JSONL,
        ["authorization", await bearer("read:items")],
        ["content-type", "application/json"],
      ],
      JSON.stringify({ 0: { name: "never stored" } }),
    );
    expectAuthError(
      create,
      403,
      'Bearer realm="api", error="insufficient_scope", scope="write:items"',
    );
  });

  it("streams the results of an authorised batch after one verification", async () => {
    const authorization = await bearer("read:items");
    const verified = await metricValue(stack.api, "api_token_verifications_total", {
      result: "ok",
    });
    const answer = await send("GET", "health,whoami,items.list?batch=1", [
      ...JSONL,
      ["authorization", authorization],
    ]);
    expect(answer.status).toBe(200);
    expect(answer.headers["transfer-encoding"]).toBe("chunked");
    expect(answer.body).toContain('"sub":"test-client@clients"');
    expect(await metricValue(stack.api, "api_token_verifications_total", { result: "ok" })).toBe(
      verified + 1,
    );
  });
});

describe("HEAD", () => {
  it("gets the auth answer of the GET it stands for, without a body", async () => {
    const none = await send("HEAD", "whoami");
    expectAuthError(none, 401, CHALLENGE);
    expect(none.body).toBe("");
    const scopeless = await send("HEAD", "items.list", [["authorization", await bearer("")]]);
    expectAuthError(
      scopeless,
      403,
      'Bearer realm="api", error="insufficient_scope", scope="read:items"',
    );
  });

  it("answers an authorised query as GET does, with no body", async () => {
    const authorization = await bearer("read:items");
    for (const target of ["whoami", "items.list", "health", "health,whoami?batch=1"]) {
      const [head, get] = await Promise.all([
        send("HEAD", target, [["authorization", authorization]]),
        send("GET", target, [["authorization", authorization]]),
      ]);
      expect(head.status, target).toBe(get.status);
      expect(head.status, target).toBe(200);
      expect(head.headers["content-type"]).toBe(get.headers["content-type"]);
      expect(head.body).toBe("");
    }
    expect((await send("HEAD", "nope")).status).toBe(404);
  });
});

describe("methods", () => {
  it("authenticates first, then answers methods the procedure does not take with 405 and Allow", async () => {
    const reader = await bearer("read:items");
    const writer = await bearer("read:items write:items");
    const json: [string, string] = ["content-type", "application/json"];
    for (const method of ["PUT", "DELETE", "PATCH", "OPTIONS", "POST"]) {
      const none = await send(method, "whoami", [json], "{}");
      expectAuthError(none, 401, CHALLENGE);
      const authorised = await send(method, "whoami", [json, ["authorization", reader]], "{}");
      expect(authorised.status, method).toBe(405);
      expect(authorised.headers.allow).toBe("GET, HEAD");
      expect(authorised.headers["www-authenticate"]).toBeUndefined();
      expect(JSON.parse(authorised.body)).toMatchObject({
        error: { data: { code: "METHOD_NOT_SUPPORTED", httpStatus: 405 } },
      });
    }
    for (const method of ["GET", "HEAD", "PUT"]) {
      expectAuthError(await send(method, "items.create"), 401, CHALLENGE);
      const refused = await send(method, "items.create", [["authorization", reader]]);
      expect(refused.status, method).toBe(403);
      const authorised = await send(method, "items.create", [["authorization", writer]]);
      expect(authorised.status, method).toBe(405);
      expect(authorised.headers.allow).toBe("POST");
    }
  });

  it("refuses other methods on public and unknown procedures without asking for a token", async () => {
    const health = await send("PUT", "health");
    expect([health.status, health.headers.allow]).toEqual([405, "GET, HEAD"]);
    const unknown = await send("DELETE", "nope");
    expect([unknown.status, unknown.headers.allow]).toEqual([405, "GET, HEAD, POST"]);
    for (const route of ["/healthz", "/readyz", "/metrics"]) {
      const answer = await sendRaw(stack.api.url, { method: "DELETE", target: route });
      expect([answer.status, answer.headers.allow]).toEqual([405, "GET, HEAD"]);
    }
  });

  it("refuses a GET that announces a body, after auth", async () => {
    const form: [string, string] = ["content-type", "multipart/form-data; boundary=x"];
    expectAuthError(await send("GET", "whoami", [form]), 401, CHALLENGE);
    const authorised = await send("GET", "whoami", [form, ["authorization", await bearer("")]]);
    expect(authorised.status).toBe(415);
  });
});
