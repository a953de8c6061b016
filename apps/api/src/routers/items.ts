import { type AccessTokenClaims, grantedScopes } from "@repo/auth";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { appendAuditEvent } from "../audit-log.js";
import type { Context } from "../context.js";
import type { Db } from "../db/open-database.js";
import { claimKey, idempotencyKeyOf, recordResponse, requestHashOf } from "../idempotency.js";
import type { ItemChange } from "../item-change-feed.js";
import {
  type Actor,
  InvalidCursorError,
  type Item,
  type ItemWriteResult,
  itemStore,
  MAX_PAGE_SIZE,
} from "../item-store.js";
import { requireScopes, usesDatabase } from "../trpc.js";
import { itemChanges } from "./item-changes.js";

const itemName = z
  .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
  .trim()
  .min(1, "must not be empty")
  .max(100, "must be at most 100 characters");

const itemId = z.uuid({ error: "must be an item id (a UUID)" });

export const createItemInput = z.object(
  { name: itemName },
  { error: "must be an object with a name" },
);
export const itemIdInput = z.object({ id: itemId }, { error: "must be an object with an id" });
export const updateItemInput = z.object(
  { id: itemId, name: itemName },
  { error: "must be an object with an id and a name" },
);
export const listItemsInput = z
  .object(
    {
      limit: z
        .number({ error: "must be a number" })
        .int("must be a whole number")
        .min(1, "must be at least 1")
        .max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`)
        .default(50),
      cursor: z.string({ error: "must be a string" }).max(64, "is not a cursor").nullish(),
    },
    { error: "must be an object with an optional limit and cursor" },
  )
  .optional();

type AuthedContext = Context & { auth: AccessTokenClaims };

/** The caller as the item store sees it: who, which client, which token, and whether admin. */
function actorOf(ctx: AuthedContext): Actor {
  const { auth } = ctx;
  return {
    sub: auth.sub,
    clientId: auth.azp ?? auth.client_id ?? auth.sub,
    tokenId: typeof auth.jti === "string" ? auth.jti : null,
    admin: grantedScopes(auth, ctx.services.scopesFrom).includes("admin:items"),
  };
}

/**
 * Every item write (create, update, delete) runs here, in one transaction with its
 * `Idempotency-Key` (when the request has one): a key seen before answers with its first result
 * and writes nothing. The change is published to `items.onChange` once committed, so a subscriber
 * never sees a write that was rolled back, and a replayed key, which changed nothing, publishes
 * nothing.
 */
async function writeItems(
  ctx: AuthedContext,
  call: { procedure: string; input: unknown; change: (item: Item) => ItemChange },
  run: (tx: Db, actor: Actor) => Promise<Item>,
): Promise<Item> {
  const actor = actorOf(ctx);
  // The change and its audit event commit together.
  const audit = (tx: Db, outcome: "ok" | "replayed", result: Item) =>
    appendAuditEvent(tx, {
      requestId: ctx.trace.requestId ?? null,
      procedure: call.procedure,
      status: 200,
      outcome,
      sub: actor.sub,
      clientId: actor.clientId,
      tokenId: actor.tokenId,
      itemId: result.id,
      authError: null,
    });
  const key = idempotencyKeyOf(ctx.idempotencyKey);
  const { db } = ctx.services.database;
  let replayed = false;
  const item =
    key === undefined
      ? await db.transaction(async (tx) => {
          const result = await run(tx, actor);
          await audit(tx, "ok", result);
          return result;
        })
      : await db.transaction(async (tx) => {
          const scope = {
            clientId: actor.clientId,
            key,
            requestHash: requestHashOf(call.procedure, call.input),
          };
          const claim = await claimKey(tx, scope);
          if (claim.state === "replay") {
            replayed = true;
            const response = claim.response as Item;
            await audit(tx, "replayed", response);
            return response;
          }
          const result = await run(tx, actor);
          await recordResponse(tx, scope, result);
          await audit(tx, "ok", result);
          return result;
        });
  if (!replayed) ctx.services.changes.publish(call.change(item));
  return item;
}

/** The changed item, or the refusal thrown, which rolls the transaction back. */
function changed(change: ItemWriteResult) {
  if (change.ok) return change.item;
  throw change.reason === "not_found"
    ? new TRPCError({ code: "NOT_FOUND", message: "no item has this id" })
    : new TRPCError({
        code: "FORBIDDEN",
        message: "the item belongs to another client; changing it needs admin:items",
      });
}

/** Items, kept in the API's database. */
export const itemsRouter = {
  list: requireScopes("read:items")
    .use(usesDatabase)
    .input(listItemsInput)
    .query(async ({ ctx, input }) => {
      try {
        return await itemStore.list(ctx.services.database.db, {
          limit: input?.limit ?? 50,
          cursor: input?.cursor,
        });
      } catch (error) {
        if (!(error instanceof InvalidCursorError)) throw error;
        throw new TRPCError({ code: "BAD_REQUEST", message: error.message, cause: error });
      }
    }),
  get: requireScopes("read:items")
    .use(usesDatabase)
    .input(itemIdInput)
    .query(async ({ ctx, input }) => {
      const item = await itemStore.get(ctx.services.database.db, input.id);
      if (item === null) throw new TRPCError({ code: "NOT_FOUND", message: "no item has this id" });
      return item;
    }),
  create: requireScopes("write:items")
    .use(usesDatabase)
    .input(createItemInput)
    .mutation(({ ctx, input }) =>
      writeItems(
        ctx,
        { procedure: "items.create", input, change: (item) => ({ type: "created", item }) },
        (tx, actor) => itemStore.create(tx, { name: input.name }, actor),
      ),
    ),
  update: requireScopes("write:items")
    .use(usesDatabase)
    .input(updateItemInput)
    .mutation(({ ctx, input }) =>
      writeItems(
        ctx,
        { procedure: "items.update", input, change: (item) => ({ type: "updated", item }) },
        async (tx, actor) =>
          changed(await itemStore.update(tx, input.id, { name: input.name }, actor)),
      ),
    ),
  delete: requireScopes("write:items")
    .use(usesDatabase)
    .input(itemIdInput)
    .mutation(({ ctx, input }) =>
      writeItems(
        ctx,
        { procedure: "items.delete", input, change: (item) => ({ type: "deleted", id: item.id }) },
        async (tx, actor) => changed(await itemStore.delete(tx, input.id, actor)),
      ),
    ),
  onChange: itemChanges,
} satisfies TRPCRouterRecord;
