import { TRPCError } from "@trpc/server";
import { count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RouterCallers, startRouterCallers } from "../test/fixtures/router-callers.js";
import { idempotencyKeys, items } from "./db/schema.js";
import { purgeExpiredKeys } from "./idempotency.js";

let callers: RouterCallers;

beforeAll(async () => {
  callers = await startRouterCallers();
});
afterAll(() => callers?.close());
beforeEach(async () => {
  await callers.database.db.delete(items);
  await callers.database.db.delete(idempotencyKeys);
});

const WRITER = "read:items write:items";
const itemCount = async () => (await callers.database.db.select({ n: count() }).from(items))[0]?.n;
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "resolved",
    (error: unknown) => (error instanceof TRPCError ? error.code : "other"),
  );

describe("Idempotency-Key on mutations", () => {
  it("answers a repeated key with the first result and writes once", async () => {
    const first = await callers.callerFor(WRITER, {}, "create-1");
    const item = await first.items.create({ name: "once" });
    // Another token of the same client, as after a refresh.
    const again = await callers.callerFor(WRITER, {}, "create-1");
    await expect(again.items.create({ name: "once" })).resolves.toEqual(item);
    expect(await itemCount()).toBe(1);
    const fresh = await callers.callerFor(WRITER, {}, "create-2");
    await expect(fresh.items.create({ name: "once" })).resolves.not.toEqual(item);
    expect(await itemCount()).toBe(2);
  });

  it("writes once for concurrent duplicates", async () => {
    const calls = await Promise.all(
      Array.from({ length: 20 }, async () =>
        (await callers.callerFor(WRITER, {}, "burst")).items.create({ name: "burst" }),
      ),
    );
    expect(new Set(calls.map((item) => item.id)).size).toBe(1);
    expect(await itemCount()).toBe(1);
  });

  it("refuses a key reused with another input or procedure (422)", async () => {
    const caller = await callers.callerFor(WRITER, {}, "reused");
    const item = await caller.items.create({ name: "first" });
    expect(await codeOf(caller.items.create({ name: "second" }))).toBe("UNPROCESSABLE_CONTENT");
    expect(await codeOf(caller.items.delete({ id: item.id }))).toBe("UNPROCESSABLE_CONTENT");
    // The same input once trimmed is the same request.
    await expect(caller.items.create({ name: "  first " })).resolves.toEqual(item);
    expect(await itemCount()).toBe(1);
  });

  it("keeps each client's keys apart", async () => {
    const one = await callers.callerFor(WRITER, { azp: "one", sub: "one@clients" }, "shared");
    const two = await callers.callerFor(WRITER, { azp: "two", sub: "two@clients" }, "shared");
    const [a, b] = [await one.items.create({ name: "x" }), await two.items.create({ name: "x" })];
    expect(a.id).not.toBe(b.id);
    expect([a.clientId, b.clientId]).toEqual(["one", "two"]);
  });

  it("stores no key for a refused change, so a retry runs again", async () => {
    const owner = await callers.callerFor(WRITER, { azp: "owner" });
    const item = await owner.items.create({ name: "owned" });
    const other = await callers.callerFor(WRITER, { azp: "other" }, "rename");
    expect(await codeOf(other.items.update({ id: item.id, name: "taken" }))).toBe("FORBIDDEN");
    const admin = await callers.callerFor(`${WRITER} admin:items`, { azp: "other" }, "rename");
    await expect(admin.items.update({ id: item.id, name: "taken" })).resolves.toMatchObject({
      name: "taken",
    });
  });

  it("replays update and delete results too", async () => {
    const writer = await callers.callerFor(WRITER);
    const item = await writer.items.create({ name: "doomed" });
    const deleter = await callers.callerFor(WRITER, {}, "delete-1");
    const deleted = await deleter.items.delete({ id: item.id });
    await expect(deleter.items.delete({ id: item.id })).resolves.toEqual(deleted);
    const plain = await callers.callerFor(WRITER);
    expect(await codeOf(plain.items.delete({ id: item.id }))).toBe("NOT_FOUND");
  });

  it("refuses a malformed key (400) before writing", async () => {
    for (const key of ["", "a, b", "x".repeat(201), "spa ce", "é"]) {
      const caller = await callers.callerFor(WRITER, {}, key);
      expect(await codeOf(caller.items.create({ name: "never" }))).toBe("BAD_REQUEST");
    }
    expect(await itemCount()).toBe(0);
  });

  it("lets a key be used afresh after 24 hours, and purges old keys", async () => {
    const caller = await callers.callerFor(WRITER, {}, "daily");
    const first = await caller.items.create({ name: "day one" });
    const dayAgo = sql`now() - interval '25 hours'`;
    await callers.database.db
      .update(idempotencyKeys)
      .set({ createdAt: dayAgo })
      .where(eq(idempotencyKeys.key, "daily"));
    const second = await caller.items.create({ name: "day two" });
    expect(second.id).not.toBe(first.id);
    await expect(caller.items.create({ name: "day two" })).resolves.toEqual(second);

    await callers.database.db.update(idempotencyKeys).set({ createdAt: dayAgo });
    expect(await purgeExpiredKeys(callers.database.db)).toBe(1);
    expect(await callers.database.db.select().from(idempotencyKeys)).toEqual([]);
  });
});
