import { type PrivatePostgres, startPrivatePostgres } from "@repo/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SignedApi, startSignedApi } from "./fixtures/signed-api.js";
import { callTrpc } from "./fixtures/test-api.js";
import { waitFor } from "./fixtures/wait-for.js";

// A real Postgres that goes down under the API and comes back: the API answers 503 with
// Retry-After meanwhile (never a 500), its public health keeps answering, and it reconnects alone.
let postgres: PrivatePostgres;
let stack: SignedApi;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  const url = postgres.createDatabase("outage");
  stack = await startSignedApi({}, { DATABASE_URL: url, DATABASE_POOL_SIZE: "4" });
});
afterAll(async () => {
  await stack?.close();
  postgres?.destroy();
});

const list = async () =>
  callTrpc(stack.api, "items.list", { authorization: await stack.bearer({ scope: "read:items" }) });

describe("a database outage", () => {
  it("answers 503 with Retry-After while Postgres is down, then recovers by itself", async () => {
    const created = await callTrpc(stack.api, "items.create", {
      authorization: await stack.bearer({ scope: "write:items" }),
      method: "POST",
      input: { name: "before the outage" },
    });
    expect(created.status).toBe(200);
    const ready = await fetch(`${stack.api.url}/readyz`);
    expect(await ready.json()).toMatchObject({
      status: "ready",
      database: { kind: "postgres", state: "up" },
    });

    postgres.stop("immediate");
    const during = await list();
    expect(during.status).toBe(503);
    expect(during.headers.get("retry-after")).toBe("1");
    expect(during.body).toMatchObject({
      error: { data: { code: "SERVICE_UNAVAILABLE", httpStatus: 503 } },
    });
    expect(JSON.stringify(during.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|terminat/);
    const readyz = await fetch(`${stack.api.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(readyz.headers.get("retry-after")).toBe("1");
    expect(await readyz.json()).toMatchObject({
      status: "database unavailable",
      database: { state: "down" },
    });
    expect((await callTrpc(stack.api, "health")).status).toBe(200);
    const write = await callTrpc(stack.api, "items.create", {
      authorization: await stack.bearer({ scope: "write:items" }),
      method: "POST",
      input: { name: "during the outage" },
    });
    expect(write.status).toBe(503);

    postgres.start();
    const after = await waitFor(async () => {
      const answer = await list();
      expect([200, 503]).toContain(answer.status);
      return answer.status === 200 && answer;
    }, "the API to reconnect");
    expect(after.body).toMatchObject({
      result: { data: { items: [{ name: "before the outage" }], nextCursor: null } },
    });
    expect((await fetch(`${stack.api.url}/readyz`)).status).toBe(200);
  });
});
