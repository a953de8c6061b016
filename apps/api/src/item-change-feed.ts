import { randomUUID } from "node:crypto";
import type { Item } from "./item-store.js";

/** A change to the items, as subscribers of `items.onChange` receive it. */
export type ItemChange =
  | { type: "created"; item: Item }
  | { type: "updated"; item: Item }
  | { type: "deleted"; id: string };

/** A published change with its feed id, the id a subscriber resumes after. */
export interface ItemChangeEvent {
  /** `<feed epoch>-<sequence>`: unique in the feed's lifetime, ordered within one epoch. */
  id: string;
  change: ItemChange;
}

/**
 * What a subscription yields: a change, or a `gap` where changes were lost to it: at the start when
 * the changes after the requested id are no longer all kept (the id is too old, or from another
 * process or a restart), or when a slow subscriber fell more than the history behind. The
 * subscriber should reload the list; the changes that follow are delivered as usual.
 */
export type FeedEntry = ItemChangeEvent | { gap: true };

/**
 * Where item changes are published and read. Writers call `publish` after a change is stored;
 * readers `subscribe`, optionally after the last id they saw. A database-backed feed (LISTEN/NOTIFY,
 * an outbox table) can replace the in-process one behind this interface.
 */
export interface ItemChangeFeed {
  /** Publishes one stored change to every subscriber; returns it with its id. */
  publish(change: ItemChange): ItemChangeEvent;
  /**
   * The changes after `afterId` (or from now on, without it), in order, then live ones, until
   * `signal` aborts. Never a duplicate; a change the feed no longer holds is reported as one `gap`.
   */
  subscribe(afterId?: string | null, signal?: AbortSignal): AsyncIterable<FeedEntry>;
}

export interface MemoryItemChangeFeedOptions {
  /** Changes kept for resuming subscribers (a ring). Default 1 000. */
  history?: number;
}

/**
 * An in-process change feed: a bounded ring of recent changes that every subscriber reads at its
 * own cursor. A subscriber costs a cursor and, while waiting, a share of one promise, whatever the
 * number of subscribers; a subscriber that falls more than `history` changes behind gets a `gap`
 * rather than holding memory for it.
 *
 * @example
 * const feed = createMemoryItemChangeFeed();
 * feed.publish({ type: "created", item });
 * for await (const entry of feed.subscribe(lastEventId, signal)) send(entry);
 */
export function createMemoryItemChangeFeed(
  options: MemoryItemChangeFeedOptions = {},
): ItemChangeFeed {
  const capacity = Math.max(1, options.history ?? 1_000);
  const epoch = randomUUID().slice(0, 8);
  const ring: (ItemChangeEvent | undefined)[] = new Array(capacity);
  // Sequence of the last published change; the ring holds (last - capacity, last].
  let last = 0;
  // Resolvers of the subscribers waiting for the next change.
  const waiting = new Set<() => void>();

  /** The sequence to start after, or `undefined` when the id's changes are not all kept. */
  const cursorOf = (afterId: string | null | undefined): number | undefined => {
    if (afterId === undefined || afterId === null || afterId === "") return last;
    const match = /^([0-9a-f]{8})-(\d{1,15})$/.exec(afterId);
    if (match === null || match[1] !== epoch) return undefined;
    const seq = Number(match[2]);
    if (seq > last || seq < last - capacity) return undefined;
    return seq;
  };

  return {
    publish(change) {
      last += 1;
      const event = { id: `${epoch}-${last}`, change };
      ring[last % capacity] = event;
      for (const resolve of waiting) resolve();
      waiting.clear();
      return event;
    },
    async *subscribe(afterId, signal) {
      let cursor = cursorOf(afterId);
      if (cursor === undefined) {
        cursor = last;
        yield { gap: true };
      }
      const stopped = () => signal?.aborted === true;
      let resolveWait: (() => void) | undefined;
      const onAbort = () => resolveWait?.();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        while (!stopped()) {
          while (cursor < last) {
            // Behind the ring: the next change was overwritten while this subscriber was away; it
            // goes on with the oldest change still held.
            if (cursor < last - capacity) {
              cursor = last - capacity;
              yield { gap: true };
            } else {
              cursor += 1;
              yield ring[cursor % capacity] as ItemChangeEvent;
            }
            if (stopped()) return;
          }
          await new Promise<void>((resolve) => {
            resolveWait = resolve;
            waiting.add(resolve);
          });
          if (resolveWait !== undefined) waiting.delete(resolveWait);
          resolveWait = undefined;
        }
      } finally {
        signal?.removeEventListener("abort", onAbort);
        if (resolveWait !== undefined) waiting.delete(resolveWait);
      }
    },
  };
}
