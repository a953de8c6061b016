import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { listAuditEvents } from "../audit-log.js";
import { MAX_PAGE_SIZE } from "../item-store.js";
import { requireScopes, usesDatabase } from "../trpc.js";

export const listAuditInput = z
  .object(
    {
      limit: z
        .number({ error: "must be a number" })
        .int("must be a whole number")
        .min(1, "must be at least 1")
        .max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`)
        .default(50),
      cursor: z.string({ error: "must be a string" }).nullish(),
    },
    { error: "must be an object with an optional limit and cursor" },
  )
  .optional();

// A cursor is the id of the last event of the previous page.
function positionOf(cursor: string | null | undefined): bigint | null {
  if (cursor == null) return null;
  if (!/^\d{1,18}$/.test(cursor)) {
    throw new TRPCError({ code: "BAD_REQUEST", message: "cursor is not one this API returned" });
  }
  return BigInt(cursor);
}

/** The audit trail, newest first, for callers granted `read:audit`. */
export const auditRouter = {
  list: requireScopes("read:audit")
    .use(usesDatabase)
    .input(listAuditInput)
    .query(({ ctx, input }) =>
      listAuditEvents(ctx.services.database.db, {
        limit: input?.limit ?? 50,
        before: positionOf(input?.cursor),
      }),
    ),
} satisfies TRPCRouterRecord;
