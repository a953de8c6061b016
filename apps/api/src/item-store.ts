import { asc, eq, gt } from "drizzle-orm";
import type { Db } from "./db/open-database.js";
import { type ItemRow, items } from "./db/schema.js";

/** An item as the API returns it. */
export interface Item {
  id: string;
  name: string;
  /** The `sub` of the token that created it. */
  createdBy: string;
  /** The client that created it (the token's `azp`/`client_id`, else its `sub`): its owner. */
  clientId: string;
  /** ISO 8601 timestamps. */
  createdAt: string;
  updatedAt: string;
}

/** A page of items, oldest first; `nextCursor` is null on the last page. */
export interface ItemPage {
  items: Item[];
  nextCursor: string | null;
}

/** Who asks for a change, from the verified token. */
export interface Actor {
  sub: string;
  clientId: string;
  /** The token's `jti`, recorded with a new item. */
  tokenId: string | null;
  /** Holds `admin:items`: may change any client's items. */
  admin: boolean;
}

/** What an update or delete found: the item, no such item, or an item of another client. */
export type ItemWriteResult =
  | { ok: true; item: Item }
  | { ok: false; reason: "not_found" | "forbidden" };

/** Largest page `list` returns. */
export const MAX_PAGE_SIZE = 100;

/**
 * The item queries. Each takes the drizzle handle it runs on, so a caller may run several in one
 * transaction (the database or a transaction are both a {@link Db}).
 */
export const itemStore = {
  async list(db: Db, page: { limit: number; cursor?: string | null }): Promise<ItemPage> {
    const after = page.cursor == null ? null : decodeCursor(page.cursor);
    const rows = await db
      .select()
      .from(items)
      .where(after === null ? undefined : gt(items.seq, after))
      .orderBy(asc(items.seq))
      .limit(page.limit + 1);
    const more = rows.length > page.limit;
    const shown = more ? rows.slice(0, page.limit) : rows;
    const last = shown.at(-1);
    return {
      items: shown.map(toItem),
      nextCursor: more && last ? encodeCursor(last.seq) : null,
    };
  },

  async get(db: Db, id: string): Promise<Item | null> {
    const [row] = await db.select().from(items).where(eq(items.id, id));
    return row ? toItem(row) : null;
  },

  async create(db: Db, input: { name: string }, actor: Actor): Promise<Item> {
    const [row] = await db
      .insert(items)
      .values({
        name: input.name,
        createdBy: actor.sub,
        clientId: actor.clientId,
        tokenId: actor.tokenId,
      })
      .returning();
    return toItem(row as ItemRow);
  },

  /** Renames an item of the actor's client (any item for an admin). Run it in a transaction. */
  async update(
    db: Db,
    id: string,
    input: { name: string },
    actor: Actor,
  ): Promise<ItemWriteResult> {
    const refused = await checkOwner(db, id, actor);
    if (refused) return refused;
    const [row] = await db
      .update(items)
      .set({ name: input.name, updatedAt: new Date() })
      .where(eq(items.id, id))
      .returning();
    return { ok: true, item: toItem(row as ItemRow) };
  },

  /** Deletes an item of the actor's client (any item for an admin). Run it in a transaction. */
  async delete(db: Db, id: string, actor: Actor): Promise<ItemWriteResult> {
    const refused = await checkOwner(db, id, actor);
    if (refused) return refused;
    const [row] = await db.delete(items).where(eq(items.id, id)).returning();
    return { ok: true, item: toItem(row as ItemRow) };
  },
};

// Locks the row, so the item cannot change between the check and the write.
async function checkOwner(
  tx: Db,
  id: string,
  actor: Actor,
): Promise<Extract<ItemWriteResult, { ok: false }> | null> {
  const [row] = await tx
    .select({ clientId: items.clientId })
    .from(items)
    .where(eq(items.id, id))
    .for("update");
  if (!row) return { ok: false, reason: "not_found" };
  if (!actor.admin && row.clientId !== actor.clientId) return { ok: false, reason: "forbidden" };
  return null;
}

function toItem(row: ItemRow): Item {
  return {
    id: row.id,
    name: row.name,
    createdBy: row.createdBy,
    clientId: row.clientId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const MAX_BIGINT = 2n ** 63n - 1n;

/** Cursors are opaque to callers: the last row's position, base64url-encoded. */
function encodeCursor(seq: bigint): string {
  return Buffer.from(`s:${seq}`).toString("base64url");
}

/** The position a cursor names, or throws {@link InvalidCursorError}. */
function decodeCursor(cursor: string): bigint {
  const text = Buffer.from(cursor, "base64url").toString();
  const seq = /^s:\d{1,19}$/.test(text) ? BigInt(text.slice(2)) : -1n;
  if (seq < 0n || seq > MAX_BIGINT) throw new InvalidCursorError();
  return seq;
}

/** A list cursor that this API did not hand out. */
export class InvalidCursorError extends Error {
  constructor() {
    super("cursor is not one this API returned");
    this.name = "InvalidCursorError";
  }
}
