import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type AnyTRPCProcedure,
  type AnyTRPCRouter,
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  TRPCError,
} from "@trpc/server";
import { getHTTPStatusCode, type ResponseMeta } from "@trpc/server/http";
import { TRPC_ERROR_CODES_BY_KEY, type TRPCResponse } from "@trpc/server/rpc";
import { createErrorShaper } from "./trpc-error-shape.js";

/**
 * The `@trpc/server` version this module was written against and checked with. It copies tRPC's
 * middleware loop and reads router internals (`_def`), which any other version may change: a test
 * (`test/fast-path.test.ts`) fails when the installed version differs, until the module has been
 * checked against the new one and this constant moved.
 */
export const WRITTEN_FOR_TRPC_SERVER = "11.25.2";

/** What a tRPC middleware receives and hands back, as far as {@link runMiddlewares} needs it. */
interface MiddlewareOptions {
  ctx: unknown;
  input: unknown;
  getRawInput: () => Promise<unknown>;
}
interface NextOptions {
  ctx?: Record<string, unknown>;
  input?: unknown;
  getRawInput?: () => Promise<unknown>;
}
type MiddlewareResult = { ok: true; data: unknown } | { ok: false; error: TRPCError };
type Middleware = (opts: Record<string, unknown>) => Promise<MiddlewareResult>;

/**
 * `{ ...base, ...extra }`. `Object.assign` onto a new object gives the same own properties and is
 * several times faster in V8 than a second spread; it would differ only for an own `__proto__` key
 * (which it would turn into the prototype), so that case keeps the spread.
 */
function mergeContext(base: object, extra: object): object {
  if (Object.hasOwn(base, "__proto__") || Object.hasOwn(extra, "__proto__")) {
    return { ...base, ...extra };
  }
  return Object.assign({}, base, extra);
}

// tRPC's own marker on middleware results: a middleware may look at what `next()` returned.
const MIDDLEWARE_MARKER = "middlewareMarker";

/**
 * Runs a procedure's middleware chain (its `.use()` middlewares, input parsers and resolver) the
 * way tRPC's `callRecursive` does: same options per middleware, same `next()` merging of `ctx` and
 * `input`, same error capture. Why not tRPC's: it copies every option object with a generic
 * property-by-property spread helper three times per middleware, which costs more than a protected
 * call's verification when the verified-token cache answers.
 */
async function runMiddlewares(
  middlewares: readonly Middleware[],
  index: number,
  fixed: { path: string; type: "query"; meta: unknown; batchIndex: number },
  opts: MiddlewareOptions,
): Promise<MiddlewareResult | undefined> {
  try {
    const middleware = middlewares[index] as Middleware;
    return await middleware({
      ctx: opts.ctx,
      path: fixed.path,
      type: fixed.type,
      signal: undefined,
      batchIndex: fixed.batchIndex,
      getRawInput: opts.getRawInput,
      meta: fixed.meta,
      input: opts.input,
      next(nextOpts?: NextOptions) {
        return runMiddlewares(middlewares, index + 1, fixed, {
          ctx: nextOpts?.ctx ? mergeContext(opts.ctx as object, nextOpts.ctx) : opts.ctx,
          input: nextOpts && "input" in nextOpts ? nextOpts.input : opts.input,
          getRawInput: nextOpts?.getRawInput ?? opts.getRawInput,
        });
      },
    });
  } catch (cause) {
    return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: MIDDLEWARE_MARKER } as never;
  }
}

export interface QueryFastPathOptions<TContext> {
  router: AnyTRPCRouter;
  maxBatchSize: number;
  /** Same contract as the adapter's `responseMeta` (`ctx`, `data` and `errors` are given). */
  responseMeta(opts: { ctx: TContext; data: TRPCResponse[]; errors: TRPCError[] }): ResponseMeta;
  onError(opts: { error: TRPCError; path: string; ctx: TContext }): void;
}

/** Answers a request if it can, returning `true`; `false` leaves it untouched for the adapter. */
export type QueryFastPath<TContext> = (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  search: string,
  ctx: TContext,
) => boolean;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Answers `GET` queries (single or batched, as `httpLink` and `httpBatchLink` send them) by calling
 * the procedures directly, with the same wire format as tRPC's Node adapter: same bodies, error
 * shapes (through the router's `errorFormatter`), statuses (207 for mixed batches) and
 * `responseMeta` headers.
 *
 * Why: the adapter turns every request into a fetch `Request`, abort signals and a streamed
 * `Response`; for the small JSON answers of this API that costs several times the procedure itself
 * and sets the server's throughput. Everything else goes to the adapter unchanged: mutations,
 * streaming (`trpc-accept`), unknown or non-query procedures, and inputs the adapter would refuse
 * (so error answers stay exactly the adapter's). The router defines no per-procedure `.errors()`
 * formatters, which this path does not apply.
 */
export function createQueryFastPath<TContext>(
  options: QueryFastPathOptions<TContext>,
): QueryFastPath<TContext> {
  const { router, maxBatchSize } = options;
  const config = router._def._config;
  const procedures = router._def.procedures as Record<string, AnyTRPCProcedure | undefined>;
  const isQuery = (path: string) => procedures[path]?._def.type === "query";

  // tRPC's `transformTRPCResponse`, with native spreads rather than its generic spread helper.
  const { output } = config.transformer;
  const serialize = (item: TRPCResponse): TRPCResponse => {
    if ("error" in item) return { ...item, error: output.serialize(item.error) };
    if ("data" in item.result) {
      return { ...item, result: { ...item.result, data: output.serialize(item.result.data) } };
    }
    return item;
  };

  const callQuery = async (path: string, input: unknown, ctx: TContext, batchIndex: number) => {
    const def = procedures[path]?._def as
      | { middlewares?: unknown; caller?: unknown; experimental_caller?: unknown; meta?: unknown }
      | undefined;
    const getRawInput = async () => input;
    if (
      def === undefined ||
      def.caller !== undefined ||
      def.experimental_caller === true ||
      !Array.isArray(def.middlewares)
    ) {
      // Anything unusual (a custom caller) goes through tRPC's own call.
      return callTRPCProcedure({
        router,
        path,
        getRawInput,
        ctx,
        type: "query",
        signal: undefined,
        batchIndex,
      });
    }
    const fixed = { path, type: "query" as const, meta: def.meta, batchIndex };
    const result = await runMiddlewares(def.middlewares, 0, fixed, {
      ctx,
      input: undefined,
      getRawInput,
    });
    if (result === undefined) {
      throw new TRPCError({
        code: "INTERNAL_SERVER_ERROR",
        message: "No result from middlewares - did you forget to `return next()`?",
      });
    }
    if (!result.ok) throw result.error;
    return result.data;
  };

  const shapeError = createErrorShaper<TContext>(router);
  const errorShape = (error: TRPCError, path: string, input: unknown, ctx: TContext) =>
    shapeError(error, { type: "query", path, input, ctx });

  const answer = async (
    res: ServerResponse,
    paths: string[],
    inputs: unknown[],
    ctx: TContext,
    batch: boolean,
  ) => {
    const errors: (TRPCError | undefined)[] = [];
    const data: TRPCResponse[] = await Promise.all(
      paths.map(async (path, index): Promise<TRPCResponse> => {
        const input = inputs[index];
        try {
          const result = await callQuery(path, input, ctx, index);
          return { result: { data: result } };
        } catch (cause) {
          const error = getTRPCErrorFromUnknown(cause);
          errors[index] = error;
          options.onError({ error, path, ctx });
          return { error: errorShape(error, path, input, ctx) };
        }
      }),
    );
    const defined = errors.filter((error): error is TRPCError => error !== undefined);
    const meta = options.responseMeta({ ctx, data, errors: defined });
    const body = JSON.stringify(batch ? data.map(serialize) : serialize(data[0] as TRPCResponse));
    res.statusCode = meta.status ?? getHTTPStatusCode(data, errors);
    res.setHeader("vary", "trpc-accept, accept");
    res.setHeader("content-type", "application/json");
    res.setHeader("content-length", Buffer.byteLength(body));
    if (meta.headers instanceof Headers) {
      for (const [name, value] of meta.headers) res.setHeader(name, value);
    }
    res.end(body);
  };

  return (req, res, path, search, ctx) => {
    if (req.method !== "GET" || req.headers["trpc-accept"] !== undefined) return false;
    const params = new URLSearchParams(search);
    const batch = params.get("batch") === "1";
    const paths = batch ? path.split(",") : [path];
    if (paths.length > maxBatchSize || !paths.every(isQuery)) return false;

    let parsed: unknown;
    const raw = params.get("input");
    if (raw) {
      try {
        parsed = JSON.parse(raw);
      } catch {
        return false;
      }
    }
    let inputs: unknown[];
    if (parsed === undefined) inputs = [];
    else if (!batch) inputs = [config.transformer.input.deserialize(parsed)];
    else if (!isObject(parsed)) return false;
    else {
      const record = parsed;
      inputs = paths.map((_, index) => {
        const input = record[index];
        return input === undefined ? undefined : config.transformer.input.deserialize(input);
      });
    }

    answer(res, paths, inputs, ctx, batch).catch((cause: unknown) => {
      const error = getTRPCErrorFromUnknown(cause);
      options.onError({ error, path, ctx });
      if (res.headersSent) {
        res.end();
        return;
      }
      res.statusCode = 500;
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          error: {
            message: "Internal server error",
            code: TRPC_ERROR_CODES_BY_KEY.INTERNAL_SERVER_ERROR,
          },
        }),
      );
    });
    return true;
  };
}
