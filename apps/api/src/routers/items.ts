import type { TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import { requireScopes } from "../trpc.js";

export const createItemInput = z.object({ name: z.string().trim().min(1).max(100) });

/** Items, kept by the instance's item store. */
export const itemsRouter = {
  list: requireScopes("read:items").query(({ ctx }) => ctx.services.items.list()),
  create: requireScopes("write:items")
    .input(createItemInput)
    .mutation(({ ctx, input }) =>
      ctx.services.items.create({ name: input.name, createdBy: ctx.auth.sub }),
    ),
} satisfies TRPCRouterRecord;
