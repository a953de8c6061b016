import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** The header that carries a request's id, in both directions. */
export const REQUEST_ID_HEADER = "x-request-id";

// Ids that upstream proxies and tracers send (UUIDs, ULIDs, hex, `Root=1-…`), bounded so that a
// caller's id cannot bloat or break a log line.
const SAFE_ID = /^[\w.:=+/-]{1,128}$/;

/**
 * The id of a request: the caller's `x-request-id` when it is 1 to 128 safe characters (letters,
 * digits and `_ . : = + / -`), a new UUID otherwise (no header, a hostile one, or the header sent
 * twice, which Node joins with a comma).
 */
export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers[REQUEST_ID_HEADER];
  return typeof sent === "string" && SAFE_ID.test(sent) ? sent : randomUUID();
}
