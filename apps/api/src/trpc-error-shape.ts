import type {
  AnyTRPCRouter,
  TRPCDefaultErrorShape,
  TRPCError,
  TRPCErrorShape,
  TRPCProcedureType,
} from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";

/** Where an error happened, as tRPC's error formatter is told. */
export interface ErrorSite<TContext> {
  type: TRPCProcedureType | "unknown";
  /** The call's procedure path; none for an error about the whole request. */
  path: string | undefined;
  input: unknown;
  ctx: TContext | undefined;
}

/**
 * Gives the shape tRPC's adapter sends for an error: its default shape (message, JSON-RPC code,
 * `data.code`, `data.httpStatus`, `data.path`) passed through the router's `errorFormatter`. For
 * answers written outside the adapter, which must look exactly like its own.
 */
export function createErrorShaper<TContext>(router: AnyTRPCRouter) {
  const config = router._def._config;
  return (error: TRPCError, site: ErrorSite<TContext>): TRPCErrorShape => {
    const shape: TRPCDefaultErrorShape = {
      message: error.message,
      code: TRPC_ERROR_CODES_BY_KEY[error.code],
      data: { code: error.code, httpStatus: getHTTPStatusCodeFromError(error) },
    };
    if (config.isDev && typeof error.stack === "string") shape.data.stack = error.stack;
    if (site.path !== undefined) shape.data.path = site.path;
    return config.errorFormatter({ ...site, error, shape });
  };
}
