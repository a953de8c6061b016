import type { ServerResponse } from "node:http";
import type { TRPCError } from "@trpc/server";
import type { Logger } from "./logger.js";
import type { ApiMetrics } from "./metrics.js";
import type { RequestTrace } from "./request-trace.js";

/** Where a request went: tRPC, one of the plain routes, or nowhere known. */
export type Route = "trpc" | "healthz" | "readyz" | "metrics" | "other";

/** One finished request, as the server saw it. */
export interface FinishedRequest {
  /** The method as received (a HEAD is served as a GET, but logged as the HEAD it was). */
  method: string | undefined;
  res: ServerResponse;
  route: Route;
  /** The tRPC path as received (`whoami`, `health,whoami`), empty for other routes. */
  procedures: string;
  trace: RequestTrace;
  /** Milliseconds from the request's arrival to its response's close. */
  elapsed: number;
}

/** The request log and the request metrics of one server. */
export interface RequestLog {
  /** Records a finished request: its metrics and its one log line. */
  finish(request: FinishedRequest): void;
  /** Logs a procedure's unexpected failure (a 500); expected errors are in the request line. */
  procedureFailed(error: TRPCError, procedure: string | undefined, trace?: RequestTrace): void;
}

/**
 * Creates the log and metrics recorder of a server. `knownProcedures` are the names metrics may
 * carry as labels; anything else a caller sends is counted as `unknown`.
 */
export function createRequestLog(options: {
  logger: Logger;
  metrics: ApiMetrics;
  knownProcedures: readonly string[];
  maxBatchSize: number;
}): RequestLog {
  const { logger, metrics, maxBatchSize } = options;
  const known = new Set(options.knownProcedures);

  /**
   * The procedure names of a request path, for metrics labels and the log. The path is the
   * caller's input: unknown names become `unknown` and an oversized batch one `batch_too_large`,
   * so hostile URLs cannot grow the metrics or the log without bound.
   */
  const procedureLabels = (path: string): string[] => {
    const names = path.split(",");
    if (names.length > maxBatchSize) return ["batch_too_large"];
    return names.map((name) => (known.has(name) ? name : "unknown"));
  };

  return {
    finish({ method, res, route, procedures, trace, elapsed }) {
      const status = res.statusCode;
      metrics.observeDuration(route, elapsed / 1000);
      if (trace.verification !== undefined) {
        metrics.recordVerification(trace.authError, trace.authReason);
      }

      const calls = route === "trpc" ? procedureLabels(procedures) : [route];
      calls.forEach((procedure, index) => {
        metrics.recordRequest(procedure, trace.callStatuses?.[index] ?? status);
      });

      const authError =
        trace.authError ??
        (trace.missingScopes === undefined ? undefined : "ERR_AUTH_INSUFFICIENT_SCOPE");
      logger.info(
        {
          requestId: trace.requestId,
          method,
          route,
          procedures: route === "trpc" ? calls : undefined,
          status,
          ms: Math.round(elapsed * 100) / 100,
          sub: trace.sub,
          azp: trace.azp,
          // The DPoP key's thumbprint names a public key: never the proof, never the token.
          dpopJkt: trace.dpopJkt,
          authError,
          authReason: trace.authReason,
          missingScopes: trace.missingScopes,
          aborted: res.writableFinished ? undefined : true,
        },
        "request",
      );
    },
    procedureFailed(error, procedure, trace) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        logger.error(
          { requestId: trace?.requestId, err: error.cause ?? error, procedure },
          "procedure failed",
        );
      }
    },
  };
}
