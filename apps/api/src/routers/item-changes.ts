import { tracked } from "@trpc/server";
import { z } from "zod";
import type { ItemChange } from "../item-change-feed.js";
import type { StreamEndReason } from "../stream-lifetimes.js";
import { requireScopes } from "../trpc.js";

/**
 * What `items.onChange` yields besides the changes (which arrive as `{ id, data: ItemChange }`,
 * `id` being the `lastEventId` to resume after). Control events carry no id:
 * - `gap`: changes after the requested id are no longer kept; reload the list, live changes follow;
 * - `token_expired`, `key_revoked`, `shutting_down`: the last event of a stream the server ended;
 *   reconnect (with a fresh token) and `lastEventId` to continue without loss.
 */
export type ItemStreamControl = { type: "gap" } | { type: StreamEndReason };

export const itemChangesInput = z
  .object({
    /** The id of the last change received; tRPC also fills it from a `Last-Event-ID` header. */
    lastEventId: z.string().max(64, "must be at most 64 characters").nullish(),
  })
  .nullish();

/**
 * Protected subscription (`read:items`): item changes as Server-Sent Events, resumable. Auth is
 * decided before the stream opens (the HTTP auth gate); the stream then lasts at most as long as
 * its token: it ends with a `token_expired` event at `exp`, with `key_revoked` when the token's
 * signing key leaves the JWKS.
 */
export const itemChanges = requireScopes("read:items")
  .input(itemChangesInput)
  .subscription(async function* ({ ctx, input, signal }) {
    const lease = ctx.services.streams.watch(ctx.auth, signal);
    try {
      for await (const entry of ctx.services.changes.subscribe(input?.lastEventId, lease.signal)) {
        if ("gap" in entry) yield { type: "gap" } as ItemStreamControl;
        else yield tracked(entry.id, entry.change as ItemChange);
      }
      const reason = lease.reason();
      if (reason !== undefined) yield { type: reason } as ItemStreamControl;
    } finally {
      lease.release();
    }
  });
