import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendRaw } from "./fixtures/raw-http.js";
import { type SignedApi, startSignedApi } from "./fixtures/signed-api.js";
import { waitFor } from "./fixtures/wait-for.js";

// The limits of the HTTP layer: each oversized or unexpected request gets its own 4xx, with a
// token that may call the procedure, so the limit and not the auth check decides.
let stack: SignedApi;
let writer: string;

beforeAll(async () => {
  stack = await startSignedApi();
  await waitFor(async () => (await fetch(`${stack.api.url}/readyz`)).status === 200, "keys");
  writer = await stack.bearer({ scope: "read:items write:items" });
});
afterAll(() => stack?.close());

const JSON_TYPE: [string, string] = ["content-type", "application/json"];

describe("limits of the HTTP layer", () => {
  it("answers a batch of more than 100 calls with 400, and serves one of 100", async () => {
    const batch = (n: number) =>
      sendRaw(stack.api.url, {
        target: `/trpc/${Array(n).fill("health").join(",")}?batch=1`,
        headers: [["authorization", writer]],
      });
    expect((await batch(100)).status).toBe(200);
    expect((await batch(101)).status).toBe(400);
  });

  it("answers a body over 1 MiB with 413 and serves one under it", async () => {
    const create = (body: string) =>
      sendRaw(stack.api.url, {
        method: "POST",
        target: "/trpc/items.create",
        headers: [JSON_TYPE, ["authorization", writer]],
        body,
      });
    expect((await create('{"name":"small"}')).status).toBe(200);
    const huge = await create(`{"name":"x","pad":"${"a".repeat(1024 * 1024)}"}`);
    expect(huge.status).toBe(413);
  });

  it("answers a mutation sent as a form or plain text with 415", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
      const answer = await sendRaw(stack.api.url, {
        method: "POST",
        target: "/trpc/items.create",
        headers: [
          ["content-type", type],
          ["authorization", writer],
        ],
        body: '{"name":"x"}',
      });
      expect(answer.status, type).toBe(415);
    }
  });

  it("answers a header section over Node's 16 KiB limit with 431, and keeps serving", async () => {
    const answer = await sendRaw(stack.api.url, {
      target: "/trpc/whoami",
      headers: [
        ["authorization", writer],
        ["x-filler", "a".repeat(20 * 1024)],
      ],
    });
    expect(answer.status).toBe(431);
    const many = await sendRaw(stack.api.url, {
      target: "/trpc/whoami",
      headers: [
        ["authorization", writer],
        ...Array.from({ length: 500 }, (_, i): [string, string] => [`x-h${i}`, "v"]),
      ],
    });
    expect(many.status).toBe(200);
  });
});
