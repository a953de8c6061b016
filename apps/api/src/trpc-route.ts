import type { IncomingMessage, ServerResponse } from "node:http";
import type { TRPCError } from "@trpc/server";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";
import type { ResponseMeta } from "@trpc/server/http";
import type { TRPCResponse } from "@trpc/server/rpc";
import { authResponseHeaders } from "./auth-response-headers.js";
import { authenticateRequest } from "./authenticate-request.js";
import type { ApiServices, Context } from "./context.js";
import { DATABASE_RETRY_AFTER, DatabaseUnavailableError } from "./database-errors.js";
import { createHttpAuthGate } from "./http-auth-gate.js";
import { readAuthorization, sendJson } from "./http-helpers.js";
import { IDEMPOTENCY_KEY_HEADER } from "./idempotency.js";
import type { Logger } from "./logger.js";
import { createQueryFastPath } from "./query-fast-path.js";
import type { RequestLog } from "./request-log.js";
import type { RequestTrace } from "./request-trace.js";
import { appRouter } from "./routers/app-router.js";

const MAX_BODY_BYTES = 1024 * 1024;

/** A call's HTTP status, as the error formatter put it in `error.data.httpStatus`. */
function callStatus(call: TRPCResponse): number {
  if (!("error" in call)) return 200;
  const data = call.error.data as { httpStatus?: unknown } | undefined;
  return typeof data?.httpStatus === "number" ? data.httpStatus : 500;
}

/**
 * The `/trpc` route: the HTTP auth gate first, then the query fast path (unless `fastQueries` is
 * false), then tRPC's Node adapter. `path` is what follows `/trpc/`, `search` the query string
 * without a fragment.
 */
export function createTrpcRoute(options: {
  services: ApiServices;
  logger: Logger;
  requestLog: RequestLog;
  maxBatchSize: number;
  fastQueries: boolean;
  admitStream?: Parameters<typeof createHttpAuthGate>[0]["admitStream"];
  /**
   * The public URL of `/trpc` (`PUBLIC_URL`, else the listen URL), without a trailing slash; a
   * function because the listen port is known only once the server listens.
   */
  publicTrpcUrl: () => string;
}) {
  const { services, logger, requestLog, maxBatchSize } = options;
  // The URL a DPoP proof's `htu` must name: the public base, never the request's Host header,
  // which a caller chooses (a proof made for another server would otherwise pass).
  const publicUrlOf = (path: string) => `${options.publicTrpcUrl()}/${path}`;

  const responseMeta = ({
    ctx,
    data,
    errors,
  }: {
    ctx?: Context | undefined;
    data: readonly TRPCResponse[];
    errors: readonly TRPCError[];
  }): ResponseMeta => {
    if (ctx !== undefined) {
      ctx.trace.callStatuses = data.map(callStatus);
    }
    const headers =
      errors.length === 0
        ? new Headers()
        : (authResponseHeaders(errors, services.verifier.dpopChallenge) ?? new Headers());
    if (errors.some((error) => error.cause instanceof DatabaseUnavailableError)) {
      if (!headers.has("retry-after")) headers.set("retry-after", String(DATABASE_RETRY_AFTER));
    }
    // RFC 9449 §8.2: a new nonce may come with any answer once the client's is about to expire.
    const nonce = ctx?.trace.dpopNonce;
    if (nonce !== undefined) headers.set("dpop-nonce", nonce);
    return [...headers.keys()].length === 0 ? {} : { headers };
  };
  const onError = ({
    error,
    path,
    ctx,
  }: {
    error: TRPCError;
    path?: string | undefined;
    ctx?: Context | undefined;
  }) => requestLog.procedureFailed(error, path, ctx?.trace);

  const gate = createHttpAuthGate({
    router: appRouter,
    maxBatchSize,
    authenticate: authenticateRequest,
    admitStream: options.admitStream,
  });
  const fastPath = options.fastQueries
    ? createQueryFastPath<Context>({ router: appRouter, maxBatchSize, responseMeta, onError })
    : undefined;

  const serve = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    search: string,
    ctx: Context,
  ) => {
    if (fastPath?.(req, res, path, search, ctx)) return;
    void nodeHTTPRequestHandler({
      router: appRouter,
      req,
      res,
      path,
      createContext: () => ctx,
      responseMeta,
      onError,
      maxBodySize: MAX_BODY_BYTES,
      maxBatchSize,
    });
  };

  return (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    search: string,
    trace: RequestTrace,
  ): void => {
    const ctx: Context = {
      services,
      authorization: readAuthorization(req),
      idempotencyKey: req.headers[IDEMPOTENCY_KEY_HEADER],
      dpop: req.headers.dpop,
      method: req.method,
      url: publicUrlOf(path),
      trace,
    };
    const answered = gate(req, res, path, search, ctx);
    if (answered === false) serve(req, res, path, search, ctx);
    else if (answered !== true) {
      answered.then(
        (done) => {
          if (!done) serve(req, res, path, search, ctx);
        },
        (error: unknown) => {
          logger.error({ requestId: trace.requestId, err: error }, "auth gate failed");
          if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
        },
      );
    }
  };
}
