import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiServices } from "./context.js";
import { DATABASE_RETRY_AFTER } from "./database-errors.js";
import { sendJson } from "./http-helpers.js";
import type { ApiMetrics } from "./metrics.js";
import type { Route } from "./request-log.js";

// A Map: the path is the caller's, and must not find Object.prototype members.
const PLAIN_ROUTES: ReadonlyMap<string, Route> = new Map([
  ["/healthz", "healthz"],
  ["/readyz", "readyz"],
  ["/metrics", "metrics"],
]);

// A load balancer's probe must not wait long on a database that does not answer.
const READY_PING_MS = 1000;

/** The plain route a path names, or `other`. */
export function plainRouteOf(pathname: string): Route {
  return PLAIN_ROUTES.get(pathname) ?? "other";
}

/**
 * The routes beside tRPC: `GET /healthz` (the process runs), `GET /readyz` (keys usable, the
 * database answers, not shutting down), `GET /metrics` (Prometheus text), each also for `HEAD`; 404 for anything else.
 */
export function createPlainRoutes(options: {
  verifier: ApiServices["verifier"];
  database: ApiServices["database"];
  metrics: ApiMetrics;
  isClosing: () => boolean;
}) {
  const { verifier, database, metrics, isClosing } = options;
  return async (req: IncomingMessage, res: ServerResponse, route: Route): Promise<void> => {
    if (route === "other" || route === "trpc") return sendJson(res, 404, { error: "not found" });
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendJson(res, 405, { error: "method not allowed" }, { allow: "GET, HEAD" });
    }
    if (route === "healthz") return sendJson(res, 200, { status: "ok" });
    if (route === "readyz") {
      const jwks = verifier.health();
      if (isClosing()) return sendJson(res, 503, { status: "shutting down", jwks });
      const up = await database.ping(READY_PING_MS);
      const db = { kind: database.kind, state: up ? "up" : "down" };
      if (jwks.state === "down") {
        return sendJson(
          res,
          503,
          { status: "keys unavailable", jwks, database: db },
          { "retry-after": "1" },
        );
      }
      if (!up) {
        return sendJson(
          res,
          503,
          { status: "database unavailable", jwks, database: db },
          { "retry-after": String(DATABASE_RETRY_AFTER) },
        );
      }
      return sendJson(res, 200, { status: "ready", jwks, database: db });
    }
    const body = await metrics.registry.metrics();
    res.writeHead(200, {
      "content-type": metrics.registry.contentType,
      "cache-control": "no-store",
    });
    res.end(body);
  };
}
