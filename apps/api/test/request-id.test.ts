import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../src/db/open-database.js";
import { openBrokenDatabase } from "./fixtures/broken-database.js";
import { sendRaw } from "./fixtures/raw-http.js";
import { type SignedApi, startSignedApi } from "./fixtures/signed-api.js";
import { waitFor } from "./fixtures/wait-for.js";

// Every answer carries the request's id (the caller's `x-request-id` when it is safe, a new one
// otherwise), and so does every log line about the request.
let stack: SignedApi;
let database: Database;

beforeAll(async () => {
  database = await openBrokenDatabase();
  stack = await startSignedApi({ database });
});
afterAll(async () => {
  await stack?.close();
  await database?.close();
});

const UUID = /^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/;
const send = (target: string, headers: [string, string][] = [], method = "GET") =>
  sendRaw(stack.api.url, { method, target, headers });
const linesOf = (requestId: string) =>
  stack.logs.records().filter((record) => record.requestId === requestId);

describe("request ids", () => {
  it("echoes a safe x-request-id and puts it in every log line of the request", async () => {
    const authorization = await stack.bearer();
    const id = "Root=1-67a1b2c3-abcdef012345678901234567";
    const answer = await send("/trpc/items.list", [
      ["x-request-id", id],
      ["authorization", authorization],
    ]);
    expect(answer.status).toBe(500);
    expect(answer.headers["x-request-id"]).toBe(id);
    await waitFor(() => linesOf(id).length === 2, "both log lines of the request");
    expect(linesOf(id).map((record) => record.msg)).toEqual(["procedure failed", "request"]);
  });

  it("answers every route with an id, a new one when the caller sent none or a hostile one", async () => {
    const hostile = ["a b", "x".repeat(129), "<script>", "id\u00e9", ""];
    const answers = [
      await send("/healthz"),
      await send("/nope"),
      await send("/trpc/whoami", [], "HEAD"),
      await send("/trpc/whoami,items.list?batch=1", [["trpc-accept", "application/jsonl"]]),
      await send("/trpc/health", [
        ["x-request-id", "first"],
        ["x-request-id", "second"],
      ]),
      ...(await Promise.all(hostile.map((id) => send("/trpc/health", [["x-request-id", id]])))),
    ];
    for (const answer of answers) {
      const id = answer.headers["x-request-id"] as string;
      expect(id).toMatch(UUID);
      await waitFor(() => linesOf(id).length === 1, `the request line of ${id}`);
    }
    const everything = stack.logs.lines.join("\n");
    for (const id of hostile.filter((text) => text.length > 0))
      expect(everything).not.toContain(id);
  });
});
