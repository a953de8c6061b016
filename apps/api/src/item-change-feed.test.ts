import { describe, expect, it } from "vitest";
import { createMemoryItemChangeFeed, type FeedEntry } from "./item-change-feed.js";
import type { Item } from "./item-store.js";

const item = (name: string): Item => ({
  id: name,
  name,
  createdBy: "test@clients",
  clientId: "test",
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
});

/** Reads `count` entries of a subscription, then stops it. */
async function take(entries: AsyncIterable<FeedEntry>, count: number): Promise<FeedEntry[]> {
  const seen: FeedEntry[] = [];
  if (count === 0) return seen;
  for await (const entry of entries) {
    seen.push(entry);
    if (seen.length === count) break;
  }
  return seen;
}

const names = (entries: FeedEntry[]) =>
  entries.map((entry) =>
    "gap" in entry
      ? "gap"
      : entry.change.type === "deleted"
        ? entry.change.id
        : entry.change.item.name,
  );

describe("createMemoryItemChangeFeed", () => {
  it("delivers live changes in order, from the moment of subscribing", async () => {
    const feed = createMemoryItemChangeFeed();
    feed.publish({ type: "created", item: item("before") });
    const reading = take(feed.subscribe(), 3);
    await Promise.resolve();
    feed.publish({ type: "created", item: item("a") });
    feed.publish({ type: "updated", item: item("b") });
    feed.publish({ type: "deleted", id: "c" });
    expect(names(await reading)).toEqual(["a", "b", "c"]);
  });

  it("resumes after an id with exactly the changes that followed it", async () => {
    const feed = createMemoryItemChangeFeed();
    const ids = ["a", "b", "c", "d"].map(
      (name) => feed.publish({ type: "created", item: item(name) }).id,
    );
    const resumed = await take(feed.subscribe(ids[1]), 2);
    expect(names(resumed)).toEqual(["c", "d"]);
    expect(resumed.map((entry) => ("id" in entry ? entry.id : ""))).toEqual(ids.slice(2));
  });

  it("reports one gap for an id it no longer holds, from another feed or malformed", async () => {
    const feed = createMemoryItemChangeFeed({ history: 2 });
    const first = feed.publish({ type: "created", item: item("a") }).id;
    for (const name of ["b", "c", "d"]) feed.publish({ type: "created", item: item(name) });
    const other = createMemoryItemChangeFeed().publish({ type: "created", item: item("x") }).id;
    for (const afterId of [first, other, "not an id", "00000000-99999999"]) {
      const reading = take(feed.subscribe(afterId), 2);
      await Promise.resolve();
      feed.publish({ type: "created", item: item(`after ${afterId}`) });
      expect(names(await reading)).toEqual(["gap", `after ${afterId}`]);
    }
  });

  it("keeps an id at the edge of its history resumable", async () => {
    const feed = createMemoryItemChangeFeed({ history: 2 });
    const ids = ["a", "b", "c"].map(
      (name) => feed.publish({ type: "created", item: item(name) }).id,
    );
    expect(names(await take(feed.subscribe(ids[0]), 2))).toEqual(["b", "c"]);
  });

  it("gives a subscriber that fell behind its history a gap, then the newest changes", async () => {
    const feed = createMemoryItemChangeFeed({ history: 2 });
    const entries = feed.subscribe()[Symbol.asyncIterator]();
    const firstRead = entries.next();
    feed.publish({ type: "created", item: item("a") });
    expect(names([(await firstRead).value as FeedEntry])).toEqual(["a"]);
    for (const name of ["b", "c", "d", "e"]) feed.publish({ type: "created", item: item(name) });
    const next = [];
    for (let i = 0; i < 3; i++) next.push((await entries.next()).value as FeedEntry);
    expect(names(next)).toEqual(["gap", "d", "e"]);
    await entries.return?.(undefined);
  });

  it("ends a waiting subscription when its signal aborts", async () => {
    const feed = createMemoryItemChangeFeed();
    const controller = new AbortController();
    const reading = take(feed.subscribe(undefined, controller.signal), 5);
    feed.publish({ type: "created", item: item("a") });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect(names(await reading)).toEqual(["a"]);
  });
});
