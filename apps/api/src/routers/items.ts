import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { requireScopes } from "../trpc.js";
import { itemChanges } from "./item-changes.js";

export const createItemInput = z.object(
  {
    name: z
      .string({
        error: (issue) => (issue.input === undefined ? "is required" : "must be a string"),
      })
      .trim()
      .min(1, "must not be empty")
      .max(100, "must be at most 100 characters"),
  },
  { error: "must be an object with a name" },
);

/** Items, kept by the instance's item store. */
export const itemsRouter = {
  list: requireScopes("read:items").query(({ ctx }) => ctx.services.items.list()),
  create: requireScopes("write:items")
    .input(createItemInput)
    .mutation(async ({ ctx, input }) => {
      const item = await ctx.services.items.create({ name: input.name, createdBy: ctx.auth.sub });
      ctx.services.changes.publish({ type: "created", item });
      return item;
    }),
  onChange: itemChanges,
} satisfies TRPCRouterRecord;
