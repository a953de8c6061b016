"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import type { Item } from "../server/home-data";

type Change =
  | { type: "created"; item: Item }
  | { type: "updated"; item: Item }
  | { type: "deleted"; id: string };

/** The list with one change applied; a created item already present (from a refresh) is kept once. */
function apply(items: readonly Item[], change: Change): Item[] {
  if (change.type === "deleted") return items.filter((item) => item.id !== change.id);
  const at = items.findIndex((item) => item.id === change.item.id);
  if (at === -1) return change.type === "created" ? [...items, change.item] : [...items];
  return items.map((item, i) => (i === at ? change.item : item));
}

/**
 * The item list, kept live: it listens to this app's relay (`/api/items/stream`, Server-Sent
 * Events without any token) and applies each change another client makes. When the relay reports
 * a `gap` (changes it could not replay), and when it is `ready` (for writes made between the render
 * and the subscription), the page is refreshed from the server.
 */
export function LiveItemList({ items: rendered }: { items: readonly Item[] }) {
  // The stream must outlive refreshes: the effect reads the router through a ref, not as a
  // dependency that a refresh may replace (which would reconnect and open a window for misses).
  const router = useRef(useRouter());
  const [items, setItems] = useState<readonly Item[]>(rendered);
  const [live, setLive] = useState(false);

  // A server refresh brings a new list: it wins, and live changes continue from it.
  useEffect(() => setItems(rendered), [rendered]);

  useEffect(() => {
    const source = new EventSource("/api/items/stream");
    // The relay's API subscription is open: anything written from now on arrives here, and a
    // refresh brings what was written since this page was rendered.
    source.addEventListener("ready", () => {
      setLive(true);
      router.current.refresh();
    });
    source.addEventListener("error", () => setLive(false));
    source.addEventListener("change", (event) => {
      const change = JSON.parse((event as MessageEvent<string>).data) as Change;
      setItems((current) => apply(current, change));
    });
    source.addEventListener("gap", () => router.current.refresh());
    return () => source.close();
  }, []);

  return (
    <>
      <p className="hint" data-testid="live-state">
        {live ? "live: changes by other clients appear here" : "connecting to live updates…"}
      </p>
      {items.length === 0 ? (
        <p className="empty">No items yet. Create the first one below.</p>
      ) : (
        <ul className="items" data-testid="item-list">
          {items.map((item) => (
            <li key={item.id}>
              <span>{item.name}</span>
              <span className="meta">
                by <span className="mono">{item.createdBy}</span> ·{" "}
                <time dateTime={item.createdAt}>{item.createdAt.slice(11, 19)} UTC</time>
              </span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
