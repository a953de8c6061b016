import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SignedApi, startSignedApi } from "./fixtures/signed-api.js";
import { callTrpc } from "./fixtures/test-api.js";

let stack: SignedApi;

beforeAll(async () => {
  stack = await startSignedApi();
});
afterAll(() => stack?.close());

const create = async (name: string, key?: string) =>
  callTrpc(stack.api, "items.create", {
    authorization: await stack.bearer({ scope: "read:items write:items" }),
    method: "POST",
    input: { name },
    headers: key === undefined ? [] : [["idempotency-key", key]],
  });

describe("Idempotency-Key over HTTP", () => {
  it("replays the first answer, 422 for another body, 400 for a malformed key", async () => {
    const first = await create("pen", "order-7");
    expect(first.status).toBe(200);
    const again = await create("pen", "order-7");
    expect(again).toMatchObject({ status: 200, body: first.body });

    const other = await create("pencil", "order-7");
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({
      error: {
        message: "this Idempotency-Key was already used with a different request",
        data: { code: "UNPROCESSABLE_CONTENT" },
      },
    });
    expect((await create("pen", "two words")).status).toBe(400);

    const list = await callTrpc(stack.api, "items.list", {
      authorization: await stack.bearer({ scope: "read:items" }),
    });
    expect(list.body).toMatchObject({ result: { data: { items: [{ name: "pen" }] } } });
  });
});
