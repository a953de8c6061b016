import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RouterCallers, startRouterCallers } from "../../test/fixtures/router-callers.js";
import type { ItemChange } from "../item-change-feed.js";

// What items.onChange subscribers get from the database-backed writes: one event per committed
// change, none for a write that was refused or for a replayed Idempotency-Key.
let callers: RouterCallers;

beforeAll(async () => {
  callers = await startRouterCallers();
});
afterAll(() => callers?.close());

const WRITER = "read:items write:items";
const MARKER: ItemChange = { type: "deleted", id: "end-of-test" };

/** The changes published from now until the marker is published by `act`'s end. */
async function changesDuring(act: () => Promise<void>): Promise<ItemChange[]> {
  const controller = new AbortController();
  const entries = callers.changes.subscribe(null, controller.signal)[Symbol.asyncIterator]();
  const seen: ItemChange[] = [];
  // The subscription starts before the writes: it must not miss the first one.
  const first = entries.next();
  await act();
  callers.changes.publish(MARKER);
  for (let next = await first; !next.done; next = await entries.next()) {
    const entry = next.value;
    if (!("change" in entry)) throw new Error("unexpected gap");
    if (entry.change === MARKER) break;
    seen.push(entry.change);
  }
  controller.abort();
  return seen;
}

describe("item writes on the change feed", () => {
  it("publishes created, updated and deleted once each, after the write", async () => {
    let id = "";
    const changes = await changesDuring(async () => {
      const writer = await callers.callerFor(WRITER, {}, "feed-create");
      const item = await writer.items.create({ name: "first" });
      id = item.id;
      // The same key again: the first result, and nothing new to publish.
      await (await callers.callerFor(WRITER, {}, "feed-create")).items.create({ name: "first" });
      await (await callers.callerFor(WRITER)).items.update({ id, name: "second" });
      await (await callers.callerFor(WRITER)).items.delete({ id });
    });
    expect(changes.map((change) => change.type)).toEqual(["created", "updated", "deleted"]);
    expect(changes[0]).toMatchObject({ item: { id, name: "first" } });
    expect(changes[1]).toMatchObject({ item: { id, name: "second" } });
    expect(changes[2]).toEqual({ type: "deleted", id });
  });

  it("publishes nothing for a change refused to another client", async () => {
    const owner = await callers.callerFor(WRITER);
    const item = await owner.items.create({ name: "owned" });
    const changes = await changesDuring(async () => {
      const other = await callers.callerFor(WRITER, { azp: "another-client" });
      const refusal = await other.items.update({ id: item.id, name: "taken" }).catch((e) => e);
      expect(refusal).toBeInstanceOf(TRPCError);
      expect((refusal as TRPCError).code).toBe("FORBIDDEN");
    });
    expect(changes).toEqual([]);
  });
});
