import { randomUUID } from "node:crypto";

/** An item as the API returns it. */
export interface Item {
  id: string;
  name: string;
  /** The `sub` of the token that created it. */
  createdBy: string;
  /** ISO 8601 timestamp. */
  createdAt: string;
}

/**
 * Where items live. The API depends on this interface only, so a database can replace the memory
 * store (hence the promises).
 */
export interface ItemStore {
  /** Items, oldest first. */
  list(): Promise<Item[]>;
  create(input: { name: string; createdBy: string }): Promise<Item>;
}

export interface MemoryItemStoreOptions {
  /** Most items kept; the oldest are dropped beyond it, so memory stays bounded. Default 10 000. */
  capacity?: number;
  now?: () => number;
}

/**
 * Keeps items in this process's memory. Each API instance has its own items: behind a load balancer
 * two instances show different lists, and a restart empties them.
 *
 * @example
 * const items = createMemoryItemStore();
 * items.create({ name: "first", createdBy: "client@clients" });
 */
export function createMemoryItemStore(options: MemoryItemStoreOptions = {}): ItemStore {
  const capacity = options.capacity ?? 10_000;
  const now = options.now ?? Date.now;
  const items: Item[] = [];
  return {
    list: async () => items.slice(),
    async create({ name, createdBy }) {
      const item = { id: randomUUID(), name, createdBy, createdAt: new Date(now()).toISOString() };
      items.push(item);
      if (items.length > capacity) items.splice(0, items.length - capacity);
      return item;
    },
  };
}
