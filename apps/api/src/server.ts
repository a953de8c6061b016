import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { dpopReplayStore } from "@repo/auth/redis";
import { createAuditLog } from "./audit-log.js";
import type { ApiServices } from "./context.js";
import { createApiVerifier } from "./create-api-verifier.js";
import { type Database, openDatabase } from "./db/open-database.js";
import type { ApiConfig } from "./env.js";
import { sendJson } from "./http-helpers.js";
import { purgeExpiredKeys } from "./idempotency.js";
import { createMemoryItemChangeFeed, type ItemChangeFeed } from "./item-change-feed.js";
import { createLogger, type Logger } from "./logger.js";
import { createApiMetrics } from "./metrics.js";
import { createPlainRoutes, plainRouteOf } from "./plain-routes.js";
import { REQUEST_ID_HEADER, requestIdOf } from "./request-id.js";
import { createRequestLog, type Route } from "./request-log.js";
import type { RequestTrace } from "./request-trace.js";
import { appRouter } from "./routers/app-router.js";
import { createStreamAdmission } from "./stream-admission.js";
import { createStreamLifetimes } from "./stream-lifetimes.js";
import { createTrpcRoute } from "./trpc-route.js";

/** Injectable parts of {@link startApiServer}, for tests and embedding. */
export interface StartApiServerOptions {
  /** Default: a pino logger on stdout at `config.logLevel`. */
  logger?: Logger;
  /** Default: an in-process change feed, one per instance. */
  changes?: ItemChangeFeed;
  /**
   * An open database the server uses and leaves open. Default: opened (and migrated) from
   * `config` — Postgres at `databaseUrl`, else PGlite in `dataDir` — and closed by `close()`.
   */
  database?: Database;
  /** The `fetch` the verifier uses for discovery and the JWKS. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** The verifier's clock, epoch milliseconds (token times and key ages). Default `Date.now`. */
  now?: () => number;
  /**
   * Answer `GET` queries directly rather than through tRPC's Node adapter: same wire format,
   * several times the throughput (see `query-fast-path.ts`). Default `true`; `false` serves every
   * request through the adapter.
   */
  fastQueries?: boolean;
}

/** A running API. */
export interface ApiServer {
  /** Base URL, e.g. `http://127.0.0.1:4000`. */
  url: string;
  /** The tRPC endpoint, `${url}/trpc`. */
  trpcUrl: string;
  port: number;
  /**
   * Stops accepting connections, lets in-flight requests finish (for up to
   * `config.shutdownTimeout` seconds, then drops the rest) and stops the verifier's refreshes.
   */
  close(): Promise<void>;
}

/** Thrown by {@link startApiServer} when it cannot listen, e.g. the port is taken (`EADDRINUSE`). */
export class ListenError extends Error {
  readonly code: string | undefined;
  constructor(message: string, options: { cause: unknown; code: string | undefined }) {
    super(message, { cause: options.cause });
    this.name = "ListenError";
    this.code = options.code;
  }
}

const TRPC_PREFIX = "/trpc";
const PURGE_INTERVAL_MS = 3_600_000;
const MAX_BATCH_SIZE = 100;
// A refused stream waits for another of its client's streams to end: not knowable, so a guess.
const STREAM_RETRY_AFTER_SECONDS = 5;

/**
 * Starts the API on `config.host:config.port` (port 0 picks a free port): tRPC at `/trpc`
 * (batching on), `GET /healthz`, `GET /readyz` and `GET /metrics`. The verifier is built here,
 * once, and warmed up in the background: the server listens even while the authorization server
 * is down (`/readyz` answers 503 until keys load, and keys are retried in the background).
 *
 * @example
 * const env = parseEnv(process.env);
 * if (env.ok) {
 *   const api = await startApiServer({ ...env.config, port: 0 });
 *   console.log(api.trpcUrl);
 *   await api.close();
 * }
 */
export async function startApiServer(
  config: ApiConfig,
  options: StartApiServerOptions = {},
): Promise<ApiServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const admission = createStreamAdmission(config.maxStreamsPerClient);
  const metrics = createApiMetrics(() => verifier.health(), admission);
  const database =
    options.database ??
    (await openDatabase({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
      statementTimeout: config.databaseStatementTimeout,
    }));
  const ownsDatabase = options.database === undefined;
  // Keys past their window answer nothing any more; the hourly sweep keeps the table small.
  const purge = setInterval(() => {
    purgeExpiredKeys(database.db).catch((error: unknown) => {
      logger.warn({ err: error }, "cannot purge expired idempotency keys");
    });
  }, PURGE_INTERVAL_MS);
  purge.unref();
  // With REDIS_URL, every instance spends a proof's jti in the same place (RFC 9449 §11.1).
  const replayStore =
    config.redisUrl === undefined
      ? undefined
      : dpopReplayStore({ url: config.redisUrl, prefix: "api:dpop:jti:" });
  const verifier = createApiVerifier(config, {
    logger,
    metrics,
    fetch: options.fetch,
    now: options.now,
    replayStore,
    onKeysRetired: () => streams.keysRetired(),
  });
  const now = options.now ?? Date.now;
  const streams = createStreamLifetimes({
    verifier,
    now,
    onEnd: (reason) => metrics.recordStreamEnd(reason),
  });
  let publicTrpcUrl = "";
  const services: ApiServices = {
    verifier,
    changes: options.changes ?? createMemoryItemChangeFeed(),
    streams,
    database,
    scopesFrom: config.scopesFrom,
  };
  let closing = false;
  // Responses not yet sent when shutdown starts must tell keep-alive clients to reconnect elsewhere.
  const inFlight = new Set<ServerResponse>();

  const auditLog = createAuditLog({ database, logger, router: appRouter });
  const requestLog = createRequestLog({
    logger,
    metrics,
    knownProcedures: Object.keys(appRouter._def.procedures),
    maxBatchSize: MAX_BATCH_SIZE,
  });
  const handleTrpc = createTrpcRoute({
    services,
    logger,
    requestLog,
    maxBatchSize: MAX_BATCH_SIZE,
    fastQueries: options.fastQueries !== false,
    admitStream(claims, res) {
      if (claims.exp * 1000 <= now()) return { kind: "expired" };
      const release = admission.admit(claims.azp ?? claims.client_id ?? claims.sub);
      if (release === undefined) return { kind: "busy", retryAfter: STREAM_RETRY_AFTER_SECONDS };
      res.once("close", release);
      return undefined;
    },
    publicTrpcUrl: () => publicTrpcUrl,
  });
  const handlePlain = createPlainRoutes({
    verifier,
    database,
    metrics,
    isClosing: () => closing,
  });

  const server = createServer((req, res) => {
    const started = performance.now();
    const { method } = req;
    // A fragment is never part of the request; tRPC's URL parser drops it, so must every reader.
    const target = (req.url ?? "/").split("#", 1)[0] as string;
    const queryAt = target.indexOf("?");
    const pathname = queryAt === -1 ? target : target.slice(0, queryAt);
    const search = queryAt === -1 ? "" : target.slice(queryAt + 1);
    const isTrpc = pathname === TRPC_PREFIX || pathname.startsWith(`${TRPC_PREFIX}/`);
    const route: Route = isTrpc ? "trpc" : plainRouteOf(pathname);
    const procedures = isTrpc ? pathname.slice(TRPC_PREFIX.length + 1) : "";
    const requestId = requestIdOf(req);
    const trace: RequestTrace = { requestId };
    res.setHeader(REQUEST_ID_HEADER, requestId);
    if (closing) res.setHeader("connection", "close");
    inFlight.add(res);

    res.once("close", () => {
      inFlight.delete(res);
      const elapsed = performance.now() - started;
      requestLog.finish({ method, res, route, procedures, trace, elapsed });
      if (isTrpc) auditLog.recordRequest({ procedures, status: res.statusCode, trace });
      if (closing) server.closeIdleConnections();
    });

    if (isTrpc) handleTrpc(req, res, procedures, search, trace);
    else
      handlePlain(req, res, route).catch((error: unknown) => {
        logger.error({ requestId, err: error, route }, "route failed");
        if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      });
  });

  try {
    await listen(server, config);
  } catch (error) {
    verifier.close();
    clearInterval(purge);
    await replayStore?.close();
    if (ownsDatabase) await database.close();
    throw error;
  }
  void verifier.warmUp();

  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  publicTrpcUrl = `${(config.publicUrl ?? url).replace(/\/+$/, "")}${TRPC_PREFIX}`;

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      closing = true;
      // Streams end now, each with a last event telling its client to reconnect elsewhere.
      streams.shutdown();
      for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
      const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeout * 1000);
      server.close(() => {
        clearTimeout(force);
        clearInterval(purge);
        verifier.close();
        // Every request has ended: once their audit events are written the pool has nothing left.
        const closeDatabase = () => (ownsDatabase ? database.close() : Promise.resolve());
        Promise.all([replayStore?.close(), auditLog.drain().then(closeDatabase)]).then(
          () => resolve(),
          (error: unknown) => {
            logger.error({ err: error }, "closing the database or the replay store failed");
            resolve();
          },
        );
      });
      server.closeIdleConnections();
    });
    return closed;
  };

  return { url, trpcUrl: `${url}${TRPC_PREFIX}`, port, close };
}

function listen(server: ReturnType<typeof createServer>, config: ApiConfig): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (cause: NodeJS.ErrnoException) => {
      const message =
        cause.code === "EADDRINUSE"
          ? `port ${config.port} on ${config.host} is already in use`
          : `cannot listen on ${config.host}:${config.port} (${cause.code ?? cause.message})`;
      reject(new ListenError(message, { cause, code: cause.code }));
    };
    server.once("error", onError);
    server.listen(config.port, config.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
