import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiServer } from "../src/server.js";
import { type KeyServer, startKeyServer } from "./fixtures/key-server.js";
import { sendRaw } from "./fixtures/raw-http.js";
import { AUDIENCE, createSigner, m2mClaims, type Signer } from "./fixtures/signer.js";
import { startTwinApis } from "./fixtures/twin-apis.js";

// Whatever a caller sends — any method, path, batch, query string, body, content type and header
// set, tokens signed by the trusted key with hostile claims — the API answers with a status below
// 500 (the keys are up: no 503 either), and answers: a request that hangs fails the run. Both the
// query fast path and tRPC's own adapter get the same requests.
let signer: Signer;
let keys: KeyServer;
let fast: ApiServer;
let stock: ApiServer;
let tokens: string[] = [];

const now = Math.floor(Date.now() / 1000);
// Claims a trusted signer could put in a token: out-of-range times, wrong types, huge values.
const HOSTILE_CLAIMS: Record<string, unknown>[] = [
  {},
  { scope: "read:items write:items" },
  { exp: 1e13 },
  { exp: 8.64e12 },
  { exp: Number.MAX_SAFE_INTEGER },
  { exp: 1e308 },
  { exp: -1 },
  { exp: now + 0.5 },
  { exp: "tomorrow" },
  { exp: null },
  { nbf: 1e13 },
  { iat: 1e13 },
  { iat: -1e13 },
  { sub: 42 },
  { sub: { id: 1 } },
  { sub: "" },
  { scope: ["read:items"] },
  { scope: 7 },
  { scope: "read:items ".repeat(200) },
  { permissions: "read:items" },
  { permissions: [1, null, {}] },
  { aud: 5 },
  { aud: [] },
  { aud: [AUDIENCE, 5] },
  { azp: null, client_id: { a: 1 } },
  { iss: 5 },
  { jti: [] },
  { __proto__: { scope: "write:items" } },
  { constructor: "x", toString: 1 },
];

beforeAll(async () => {
  signer = await createSigner();
  keys = await startKeyServer(() => [signer.publicJwk]);
  ({ fast, stock } = await startTwinApis(keys.issuer));
  tokens = await Promise.all(
    HOSTILE_CLAIMS.map((claims) =>
      signer.sign({ ...m2mClaims(keys.issuer), ...JSON.parse(JSON.stringify(claims)) }),
    ),
  );
});
afterAll(async () => {
  await fast?.close();
  await stock?.close();
  await keys?.close();
});

/** What a request is made of; every part can be mutated. */
interface Sent {
  stock: boolean;
  method: string;
  procedures: string[];
  query: string[];
  fragment: string;
  body: string | undefined;
  headers: [string, string][];
}

const JSON_TYPE: [string, string] = ["content-type", "application/json"];
const JSONL: [string, string] = ["trpc-accept", "application/jsonl"];
const input = (value: unknown) => `input=${encodeURIComponent(JSON.stringify(value))}`;
// Requests as the clients send them, which the mutations below bend out of shape.
const TEMPLATES: Omit<Sent, "stock">[] = [
  { method: "GET", procedures: ["whoami"], query: [], fragment: "", body: undefined, headers: [] },
  {
    method: "GET",
    procedures: ["items.list"],
    query: [],
    fragment: "",
    body: undefined,
    headers: [],
  },
  {
    method: "GET",
    procedures: ["health", "whoami", "items.list"],
    query: ["batch=1", input({})],
    fragment: "",
    body: undefined,
    headers: [],
  },
  {
    method: "GET",
    procedures: ["whoami", "items.list"],
    query: ["batch=1"],
    fragment: "",
    body: undefined,
    headers: [JSONL],
  },
  {
    method: "POST",
    procedures: ["items.create"],
    query: [],
    fragment: "",
    body: '{"name":"x"}',
    headers: [JSON_TYPE],
  },
  {
    method: "POST",
    procedures: ["items.create"],
    query: ["batch=1"],
    fragment: "",
    body: '{"0":{"name":"x"}}',
    headers: [JSON_TYPE, JSONL],
  },
  { method: "HEAD", procedures: ["whoami"], query: [], fragment: "", body: undefined, headers: [] },
];

const NAMES = [
  "health",
  "whoami",
  "items.list",
  "items.create",
  "nope",
  "",
  "items",
  "items.",
  "__proto__",
  "constructor",
  "toString",
  "%77hoami",
  "health%2Cwhoami",
  "%E0%A4%A",
  "whoami%00",
  "%",
  "..",
];
const METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"];
const CONTENT_TYPES = [
  "application/json",
  "APPLICATION/JSON; charset=utf-8",
  "text/plain",
  "multipart/form-data",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "application/x-www-form-urlencoded",
  "",
];
const queryPart = fc.oneof(
  fc.constantFrom("batch=1", "batch=0", "batch=true", "%62atch=1", "connectionParams=x", "a=%ZZ"),
  fc.json().map((json) => `input=${encodeURIComponent(json)}`),
  fc.string({ maxLength: 30 }).map((text) => `input=${encodeURIComponent(text)}`),
  fc.constantFrom("input=%7Bnot-json", "input=null", input({ 0: { name: "" } }), input([1])),
);
const bodies = fc.oneof(
  { weight: 10, arbitrary: fc.json() },
  { weight: 5, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 5, arbitrary: fc.constantFrom('{"0":{"name":""}}', '{"name":""}', "{", "[]", "null") },
  { weight: 1, arbitrary: fc.constant("x".repeat(1024 * 1024 + 10)) },
);
type Mutation = (sent: Sent) => Sent;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...METHODS).map((method) => (sent: Sent) => ({ ...sent, method })),
  fc
    .array(fc.oneof(fc.constantFrom(...NAMES), fc.stringMatching(/^[\w.%~-]{0,10}$/)), {
      minLength: 1,
      maxLength: 4,
    })
    .map((procedures) => (sent: Sent) => ({ ...sent, procedures })),
  fc.constant((sent: Sent) => ({ ...sent, procedures: Array(120).fill("whoami") })),
  queryPart.map((part) => (sent: Sent) => ({ ...sent, query: [...sent.query, part] })),
  fc.constant((sent: Sent) => ({ ...sent, query: [] })),
  fc
    .constantFrom("#", "#?batch=1", "#x")
    .map((fragment) => (sent: Sent) => ({ ...sent, fragment })),
  fc.option(bodies).map((body) => (sent: Sent) => ({ ...sent, body: body ?? undefined })),
  fc.constantFrom(...CONTENT_TYPES).map((type) => (sent: Sent) => ({
    ...sent,
    headers: [
      ...sent.headers.filter(([name]) => name !== "content-type"),
      ["content-type", type] as [string, string],
    ],
  })),
  fc
    .tuple(
      fc.constantFrom("trpc-accept", "accept"),
      fc.constantFrom("application/jsonl", "text/event-stream", "", "*/*", "x"),
    )
    .map((header) => (sent: Sent) => ({ ...sent, headers: [...sent.headers, header] })),
  fc.constant((sent: Sent) => ({
    ...sent,
    headers: sent.headers.filter(([name]) => name !== "trpc-accept"),
  })),
);
/** Authorization header values: none, one, or the header repeated. */
const authorization = fc.oneof(
  { weight: 4, arbitrary: fc.nat().map((index) => [`Bearer ${tokens[index % tokens.length]}`]) },
  { weight: 1, arbitrary: fc.constant([] as string[]) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ["Bearer "],
      ["Bearer a b"],
      ["Basic dXNlcjpwYXNz"],
      ["bearer x.y.z"],
      ["Bearer"],
    ),
  },
  {
    weight: 1,
    arbitrary: fc.nat().map((index) => [`Bearer ${tokens[index % tokens.length]}`, "Bearer x"]),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 8_000, max: 40_000 })
      .map((length) => [`Bearer ${"a".repeat(length)}`]),
  },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 100 }).map((text) => [text.replace(/[^\x20-\x7e]/g, "")]),
  },
);
const request = fc
  .record({
    stock: fc.boolean(),
    template: fc.constantFrom(...TEMPLATES),
    mutations: fc.array(mutation, { maxLength: 3 }),
    authorization,
  })
  .map(({ stock, template, mutations, authorization }) => {
    const sent = mutations.reduce((current, mutate) => mutate(current), { ...template, stock });
    const values: readonly string[] = authorization;
    return {
      ...sent,
      headers: [
        ...sent.headers,
        ...values.map((value): [string, string] => ["authorization", value]),
      ],
    };
  });
const plainTargets = fc.constantFrom(
  "/healthz",
  "/readyz",
  "/metrics",
  "/trpc",
  "/nope",
  "//trpc/whoami",
  "/trpc/../healthz",
  "/healthz?x=1#y",
);

describe("no server error from any input", () => {
  it("answers every generated request below 500, each call too, and answers it", async () => {
    await fc.assert(
      fc.asyncProperty(request, fc.option(plainTargets, { freq: 8 }), async (sent, plain) => {
        const query = sent.query.length > 0 ? `?${sent.query.join("&")}` : "";
        const target = plain ?? `/trpc/${sent.procedures.join(",")}${query}${sent.fragment}`;
        const answer = await sendRaw((sent.stock ? stock : fast).url, {
          method: sent.method,
          target,
          headers: sent.headers,
          body: sent.body,
        });
        expect(answer.status).toBeGreaterThanOrEqual(200);
        expect(answer.status).toBeLessThan(500);
        // Nor any call of a batch or a stream.
        expect(answer.body).not.toMatch(/"httpStatus":5\d\d/);
        // No answer echoes a token it was sent.
        for (const [name, value] of sent.headers) {
          const payload = name === "authorization" ? value.split(".")[1] : undefined;
          if (payload !== undefined && payload.length > 20)
            expect(answer.body).not.toContain(payload);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
