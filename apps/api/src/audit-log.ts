import type { AnyTRPCRouter } from "@trpc/server";
import { desc, lt } from "drizzle-orm";
import type { Database, Db } from "./db/open-database.js";
import { auditEvents } from "./db/schema.js";
import type { Logger } from "./logger.js";
import type { RequestTrace } from "./request-trace.js";

/** What an audit event says happened. */
export type AuditOutcome =
  | "ok"
  | "replayed"
  | "unauthorized"
  | "forbidden"
  | "invalid"
  | "not_found"
  | "unavailable"
  | "error";

/** One event as `audit.list` returns it. */
export interface AuditEvent {
  id: string;
  at: string;
  requestId: string | null;
  procedure: string;
  status: number;
  outcome: AuditOutcome;
  sub: string | null;
  clientId: string | null;
  tokenId: string | null;
  itemId: string | null;
  authError: string | null;
}

export type NewAuditEvent = Omit<AuditEvent, "id" | "at" | "outcome"> & { outcome?: AuditOutcome };

/** The outcome an HTTP status stands for. */
export function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return "ok";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 503) return "unavailable";
  if (status < 500) return "invalid";
  return "error";
}

/** Appends one event (in the caller's transaction when `db` is one). */
export async function appendAuditEvent(db: Db, event: NewAuditEvent): Promise<void> {
  await db
    .insert(auditEvents)
    .values({ ...event, outcome: event.outcome ?? outcomeOf(event.status) });
}

/** A page of events, newest first; `nextCursor` is null on the last page. */
export async function listAuditEvents(db: Db, page: { limit: number; before: bigint | null }) {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(page.before === null ? undefined : lt(auditEvents.seq, page.before))
    .orderBy(desc(auditEvents.seq))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const shown = more ? rows.slice(0, page.limit) : rows;
  return {
    events: shown.map(toEvent),
    nextCursor: more ? String(shown.at(-1)?.seq) : null,
  };
}

function toEvent({ seq, at, outcome, ...row }: typeof auditEvents.$inferSelect): AuditEvent {
  return { id: String(seq), at: at.toISOString(), outcome: outcome as AuditOutcome, ...row };
}

/** Records the refused and failed calls of protected procedures, once their request has ended. */
export interface AuditLog {
  recordRequest(request: { procedures: string; status: number; trace: RequestTrace }): void;
  /** Waits for the events still being written. */
  drain(): Promise<void>;
}

/**
 * Creates the recorder of refused and failed calls (401, 403, 4xx, 5xx) of the router's protected
 * procedures; successful item changes are recorded in their own transaction instead. Writes do
 * not hold the response; a failed write is logged.
 */
export function createAuditLog(options: {
  database: Database;
  logger: Logger;
  router: AnyTRPCRouter;
}): AuditLog {
  const { database, logger } = options;
  const audited = new Set(
    Object.entries(options.router._def.procedures)
      .filter(
        ([, procedure]) => (procedure as { _def: { meta?: { auth?: true } } })._def.meta?.auth,
      )
      .map(([name]) => name),
  );
  const pending = new Set<Promise<void>>();

  return {
    recordRequest({ procedures, status, trace }) {
      const names = procedures.split(",");
      names.forEach((procedure, index) => {
        const callStatus = trace.callStatuses?.[index] ?? status;
        if (callStatus < 400 || !audited.has(procedure)) return;
        const write = appendAuditEvent(database.db, {
          requestId: trace.requestId ?? null,
          procedure,
          status: callStatus,
          sub: trace.sub ?? null,
          clientId: trace.azp ?? trace.sub ?? null,
          tokenId: trace.jti ?? null,
          itemId: null,
          authError:
            trace.authError ??
            (callStatus === 403 && trace.missingScopes ? "ERR_AUTH_INSUFFICIENT_SCOPE" : null),
        }).catch((error: unknown) => {
          logger.warn(
            { requestId: trace.requestId, err: error, procedure },
            "cannot record an audit event",
          );
        });
        pending.add(write);
        void write.finally(() => pending.delete(write));
      });
    },
    async drain() {
      await Promise.all(pending);
    },
  };
}
