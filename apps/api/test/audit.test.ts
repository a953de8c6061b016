import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit-log.js";
import type { Database } from "../src/db/open-database.js";
import { type SignedApi, startSignedApi } from "./fixtures/signed-api.js";
import { callTrpc } from "./fixtures/test-api.js";
import { openTestDatabase } from "./fixtures/test-database.js";
import { waitFor } from "./fixtures/wait-for.js";

let stack: SignedApi;
let database: Database;

beforeAll(async () => {
  database = await openTestDatabase();
  stack = await startSignedApi({ database });
});
afterAll(async () => {
  await stack?.close();
  await database?.close();
});

const auditor = () => stack.bearer({ scope: "read:audit", sub: "auditor@clients", azp: "auditor" });

async function events(): Promise<AuditEvent[]> {
  const answer = await callTrpc(stack.api, "audit.list", {
    authorization: await auditor(),
    input: { limit: 100 },
  });
  expect(answer.status).toBe(200);
  return (answer.body as { result: { data: { events: AuditEvent[] } } }).result.data.events;
}

describe("the audit trail", () => {
  it("records changes, replays and refusals with who, which client and token, never the token", async () => {
    const writer = await stack.bearer({ scope: "read:items write:items", jti: "jti-writer" });
    const reader = await stack.bearer({ scope: "read:items", jti: "jti-reader" });
    const create = (authorization: string | undefined, key?: string) =>
      callTrpc(stack.api, "items.create", {
        method: "POST",
        input: { name: "audited" },
        ...(authorization === undefined ? {} : { authorization }),
        headers: key === undefined ? [] : [["idempotency-key", key]],
      });

    const created = await create(writer, "audit-1");
    expect(created.status).toBe(200);
    expect((await create(writer, "audit-1")).status).toBe(200);
    expect((await create(undefined)).status).toBe(401);
    expect((await create(reader)).status).toBe(403);
    expect((await create("Bearer not.a.token")).status).toBe(401);

    const itemId = (created.body as { result: { data: { id: string } } }).result.data.id;
    const trail = await waitFor(async () => {
      const found = await events();
      return found.length >= 5 && found;
    }, "five audit events");
    // Changes are recorded in their own transaction, before the answer; refusals just after their
    // answer, each on whichever pooled connection is free, so the refusals may land in any order.
    const summary = trail.map(({ procedure, status, outcome }) => [procedure, status, outcome]);
    expect(summary.slice(3)).toEqual([
      ["items.create", 200, "replayed"],
      ["items.create", 200, "ok"],
    ]);
    expect(
      summary
        .slice(0, 3)
        .map((row) => row.join(" "))
        .sort(),
    ).toEqual(
      [
        "items.create 401 unauthorized",
        "items.create 401 unauthorized",
        "items.create 403 forbidden",
      ].sort(),
    );
    const refusal = (authError: string) => trail.find((event) => event.authError === authError);
    expect(trail[4]).toMatchObject({
      sub: "test-client@clients",
      clientId: "test-client",
      tokenId: "jti-writer",
      itemId,
      requestId: expect.any(String),
    });
    expect(refusal("ERR_AUTH_INSUFFICIENT_SCOPE")).toMatchObject({ tokenId: "jti-reader" });
    expect(refusal("ERR_AUTH_MISSING_TOKEN")).toMatchObject({ sub: null });
    expect(refusal("ERR_AUTH_INVALID_TOKEN")).toMatchObject({ status: 401 });
    const text = JSON.stringify(trail);
    for (const token of [writer, reader]) expect(text).not.toContain(token.slice(7));
    expect(text).not.toContain("not.a.token");
  });

  it("lists only for read:audit, newest first, in pages", async () => {
    const reader = await stack.bearer({ scope: "read:items write:items" });
    const refused = await callTrpc(stack.api, "audit.list", { authorization: reader });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("www-authenticate")).toContain('scope="read:audit"');

    // The refusal is itself recorded, once its answer has gone.
    const all = await waitFor(async () => {
      const found = await events();
      return found[0]?.procedure === "audit.list" && found;
    }, "the refused audit.list in the trail");
    const first = await callTrpc(stack.api, "audit.list", {
      authorization: await auditor(),
      input: { limit: 2 },
    });
    const page = (first.body as { result: { data: { events: AuditEvent[]; nextCursor: string } } })
      .result.data;
    expect(page.events).toEqual(all.slice(0, 2));
    const next = await callTrpc(stack.api, "audit.list", {
      authorization: await auditor(),
      input: { limit: 2, cursor: page.nextCursor },
    });
    expect(next.body).toMatchObject({ result: { data: { events: all.slice(2, 4) } } });
    const bad = await callTrpc(stack.api, "audit.list", {
      authorization: await auditor(),
      input: { cursor: "x" },
    });
    expect(bad.status).toBe(400);
  });

  it("is append-only in the database itself", async () => {
    await expect(
      database.db.execute(sql`update audit_events set sub = 'someone else'`),
    ).rejects.toThrow();
    await expect(database.db.execute(sql`delete from audit_events`)).rejects.toThrow();
    expect((await events()).length).toBeGreaterThan(0);
  });
});
