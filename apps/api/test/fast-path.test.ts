import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WRITTEN_FOR_TRPC_SERVER } from "../src/query-fast-path.js";
import type { ApiServer } from "../src/server.js";
import { type KeyServer, startKeyServer } from "./fixtures/key-server.js";
import { createSigner, m2mClaims, type Signer } from "./fixtures/signer.js";
import { startTwinApis } from "./fixtures/twin-apis.js";

// The query fast path must answer exactly as tRPC's Node adapter does. Two servers, one with the
// fast path and one without, get the same requests; their answers must match.
let signer: Signer;
let keys: KeyServer;
let fast: ApiServer;
let stock: ApiServer;

beforeAll(async () => {
  signer = await createSigner();
  keys = await startKeyServer(() => [signer.publicJwk]);
  ({ fast, stock } = await startTwinApis(keys.issuer));
});
afterAll(async () => {
  await fast?.close();
  await stock?.close();
  await keys?.close();
});

const WIRE_HEADERS = ["content-type", "vary", "www-authenticate", "retry-after", "allow"];

async function answer(
  api: ApiServer,
  target: string,
  headers: Record<string, string>,
  method = "GET",
  sent?: string,
) {
  const res = await fetch(`${api.trpcUrl}/${target}`, { headers, method, body: sent });
  const text = await res.text();
  // Byte-for-byte, but for the time of the last key refresh (each server has its own).
  const body = text.replace(/"lastRefreshAt":"[^"]+"/g, '"lastRefreshAt":"…"');
  return {
    status: res.status,
    headers: Object.fromEntries(WIRE_HEADERS.map((name) => [name, res.headers.get(name)])),
    body,
    chunked: res.headers.get("transfer-encoding") === "chunked",
  };
}

describe("query fast path", () => {
  it("runs on the exact @trpc/server version it was written against", () => {
    const { version } = createRequire(import.meta.url)("@trpc/server/package.json") as {
      version: string;
    };
    expect(
      version,
      "query-fast-path.ts copies tRPC internals: check it against this version (this suite), then move WRITTEN_FOR_TRPC_SERVER",
    ).toBe(WRITTEN_FOR_TRPC_SERVER);
  });

  // Every request shape: single and batched queries (with and without input), errors (401, 400,
  // 403, 404, bad input), a mixed batch (207), streams (`trpc-accept: application/jsonl`), HEAD
  // and the methods tRPC refuses.
  it("answers GET queries exactly as the tRPC adapter does", async () => {
    const token = (scope: string) => signer.sign(m2mClaims(keys.issuer, { scope }));
    const reader = { authorization: `Bearer ${await token("read:items")}` };
    const scopeless = { authorization: `Bearer ${await token("")}` };
    const input = (value: unknown) => `input=${encodeURIComponent(JSON.stringify(value))}`;

    const served: [string, Record<string, string>][] = [
      ["health", {}],
      ["whoami", {}],
      ["whoami", { authorization: "Basic dXNlcjpwYXNz" }],
      ["whoami", { authorization: "Bearer a b" }],
      ["whoami", { authorization: "Bearer not.a.token" }],
      ["whoami", reader],
      [`whoami?${input({ ignored: true })}`, reader],
      ["items.list", reader],
      ["items.list", scopeless],
      [`health,whoami?batch=1&${input({})}`, {}],
      ["whoami,items.list?batch=1", {}],
      [`items.list,whoami?batch=1&${input({ 0: null })}`, scopeless],
      [`health,items.list,whoami?batch=1&${input({})}`, reader],
    ];
    const delegated: [string, Record<string, string>][] = [
      ["nope", {}],
      ["whoami,nope?batch=1", reader],
      [`whoami?batch=1&${input([1])}`, reader],
      ["whoami?input=%7Bnot-json", reader],
      ["whoami?batch=1", { ...reader, "trpc-accept": "application/jsonl" }],
    ];

    for (const [target, headers] of [...served, ...delegated]) {
      const [ours, theirs] = await Promise.all([
        answer(fast, target, headers),
        answer(stock, target, headers),
      ]);
      expect({ target, ...ours, chunked: undefined }).toEqual({
        target,
        ...theirs,
        chunked: undefined,
      });
      const isServed = served.some(([servedTarget]) => servedTarget === target);
      expect(ours.chunked, target).toBe(!isServed);
    }

    // The auth gate runs before both: what it answers (streams, HEAD, other methods) and the HEAD
    // it hands on as a GET must come out the same whichever path serves the rest.
    const jsonl = { "trpc-accept": "application/jsonl" };
    const gated: [string, string, Record<string, string>][] = [
      ["GET", "whoami,items.list?batch=1", jsonl],
      ["GET", `health,whoami?batch=1&${input({})}`, { ...scopeless, ...jsonl }],
      ["GET", "items.list,whoami?batch=1", { ...scopeless, ...jsonl }],
      ["GET", "items.create", {}],
      ["GET", "items.create", reader],
      ["GET", "whoami", { ...reader, "content-type": "application/octet-stream" }],
      ["HEAD", "whoami", {}],
      ["HEAD", "whoami", { authorization: "Bearer a b" }],
      ["HEAD", "whoami", reader],
      ["HEAD", "items.list", scopeless],
      ["HEAD", "health", {}],
      ["HEAD", `health,items.list,whoami?batch=1&${input({})}`, reader],
      ["HEAD", "nope", {}],
      ["PUT", "whoami", {}],
      ["DELETE", "whoami", reader],
      ["OPTIONS", "health", {}],
      ["PATCH", "nope", {}],
    ];
    for (const [method, target, headers] of gated) {
      const [ours, theirs] = await Promise.all([
        answer(fast, target, headers, method),
        answer(stock, target, headers, method),
      ]);
      expect({ method, target, ...ours }).toEqual({ method, target, ...theirs });
    }

    // Mutations (POST, single and batched) always go to the adapter: both servers must agree on
    // their errors too (no token, missing scope, bad input, a query sent as POST).
    const writer = { authorization: `Bearer ${await token("read:items write:items")}` };
    const json = { "content-type": "application/json" };
    const posted: [string, Record<string, string>, string][] = [
      ["items.create", json, JSON.stringify({ name: "x" })],
      ["items.create", { ...json, ...reader }, JSON.stringify({ name: "x" })],
      ["items.create", { ...json, ...writer }, JSON.stringify({ name: "" })],
      ["items.create,items.create?batch=1", { ...json, ...writer }, JSON.stringify({ 0: {} })],
      ["whoami", { ...json, ...reader }, "{}"],
      ["items.create", { ...json, ...writer }, "{not json"],
    ];
    for (const [target, headers, body] of posted) {
      const [ours, theirs] = await Promise.all([
        answer(fast, target, headers, "POST", body),
        answer(stock, target, headers, "POST", body),
      ]);
      expect({ target, sent: body, ...ours }).toEqual({ target, sent: body, ...theirs });
    }
  });
});
