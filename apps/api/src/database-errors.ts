import { TRPCError } from "@trpc/server";

/** Seconds a caller should wait before retrying while the database is unavailable. */
export const DATABASE_RETRY_AFTER = 1;

/**
 * The database cannot be reached or refused to work (down, restarting, out of connections,
 * statement timeout): a 503 with `Retry-After`, not a bug. `cause` keeps the driver's error for
 * the log; the caller sees none of it.
 */
export class DatabaseUnavailableError extends Error {
  readonly retryAfter = DATABASE_RETRY_AFTER;
  constructor(options: { cause: unknown }) {
    super("the database is unavailable; retry shortly", options);
    this.name = "DatabaseUnavailableError";
  }
}

// Node socket errors and pg-pool's own messages when it cannot get or keep a connection.
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const POOL_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error",
  "Cannot use a pool after calling end",
];

/**
 * Whether an error (or one of its causes) means the database is unavailable rather than that the
 * query is wrong: a network error, a pool timeout, or SQLSTATE class 08 (connection exception),
 * 53 (insufficient resources), 57P0x (server shutting down or starting) or 57014 (statement
 * timeout, i.e. the database is too slow to answer now).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current != null && depth < 8; depth++) {
    if (current instanceof DatabaseUnavailableError) return true;
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === "string") {
      if (NETWORK_CODES.has(code)) return true;
      if (/^(08|53)[0-9A-Z]{3}$|^57P0[1-4]$|^57014$/.test(code)) return true;
    }
    if (typeof message === "string" && POOL_MESSAGES.some((text) => message.includes(text))) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** The 503 a procedure answers when `error` means the database is unavailable; else `error`. */
export function toDatabaseError(error: unknown): unknown {
  if (!isDatabaseUnavailable(error)) return error;
  const cause = new DatabaseUnavailableError({ cause: error });
  return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: cause.message, cause });
}
