import { createHash } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { and, eq, lt, sql } from "drizzle-orm";
import type { Db } from "./db/open-database.js";
import { idempotencyKeys } from "./db/schema.js";

/** The request header that makes a mutation idempotent (IETF draft `Idempotency-Key`). */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

/** How long a key answers with its first result; after that it may be used afresh. */
export const IDEMPOTENCY_WINDOW_HOURS = 24;

// Letters, digits and `_ - . :` (UUIDs, ULIDs, prefixed ids); a repeated header, which Node joins
// with ", ", is refused with the rest.
const KEY = /^[\w.:-]{1,200}$/;

/** A mutation's key, scoped to the client that sent it. */
export interface IdempotencyScope {
  clientId: string;
  key: string;
  /** The procedure and the parsed input the key stands for. */
  requestHash: string;
}

/**
 * The key a request carries, checked: `undefined` when it has none, a 400 when it is malformed.
 */
export function idempotencyKeyOf(header: string | readonly string[] | undefined) {
  if (header === undefined) return undefined;
  if (typeof header !== "string" || !KEY.test(header)) {
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: "Idempotency-Key must be 1 to 200 letters, digits, _ - . or :, sent once",
    });
  }
  return header;
}

/** The hash a key is bound to: which procedure, with which input. */
export function requestHashOf(procedure: string, input: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify([procedure, input]))
    .digest("base64url");
}

/**
 * Claims the key inside the mutation's transaction. `new`: this request runs the change and must
 * {@link recordResponse} before commit. `replay`: the key was used before with the same request;
 * answer with its response. A concurrent duplicate waits here on the row's unique index until the
 * first request commits (then replays) or rolls back (then runs). Used with another request → 422.
 */
export async function claimKey(
  tx: Db,
  scope: IdempotencyScope,
): Promise<{ state: "new" } | { state: "replay"; response: unknown }> {
  const expired = sql`${idempotencyKeys.createdAt} < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`;
  const claimed = await tx
    .insert(idempotencyKeys)
    .values(scope)
    .onConflictDoUpdate({
      target: [idempotencyKeys.clientId, idempotencyKeys.key],
      set: { requestHash: scope.requestHash, response: null, createdAt: sql`now()` },
      setWhere: expired,
    })
    .returning({ key: idempotencyKeys.key });
  if (claimed.length > 0) return { state: "new" };
  const [first] = await tx
    .select({ requestHash: idempotencyKeys.requestHash, response: idempotencyKeys.response })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.clientId, scope.clientId), eq(idempotencyKeys.key, scope.key)));
  if (first === undefined || first.requestHash !== scope.requestHash) {
    throw new TRPCError({
      code: "UNPROCESSABLE_CONTENT",
      message: "this Idempotency-Key was already used with a different request",
    });
  }
  return { state: "replay", response: first.response };
}

/** Stores the first result with the key, in the same transaction as the change. */
export async function recordResponse(tx: Db, scope: IdempotencyScope, response: unknown) {
  await tx
    .update(idempotencyKeys)
    .set({ response })
    .where(and(eq(idempotencyKeys.clientId, scope.clientId), eq(idempotencyKeys.key, scope.key)));
}

/** Deletes keys past the window (they no longer answer anyway); returns how many. */
export async function purgeExpiredKeys(db: Db, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - IDEMPOTENCY_WINDOW_HOURS * 3_600_000);
  const gone = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, cutoff))
    .returning({ key: idempotencyKeys.key });
  return gone.length;
}
