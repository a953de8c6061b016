import type { IncomingHttpHeaders } from "node:http";
import { type AnyTRPCRouter, TRPCError, type TRPCProcedureType } from "@trpc/server";
import { getParseFn, type Parser } from "@trpc/server/unstable-core-do-not-import";
import type { ProcedureMeta } from "./trpc.js";

/** A known procedure a request calls, with what its `meta` says it needs. */
export interface PlannedCall {
  name: string;
  type: TRPCProcedureType;
  /** Only a verified token may call it (`protectedProcedure`). */
  auth: boolean;
  /** Scopes the verified token must grant (`requireScopes`). */
  scopes: readonly string[];
  /**
   * A subscription's input validation, run by the gate before the stream opens (tRPC would only
   * report a bad input inside a stream already answered 200).
   */
  parseInput?: (raw: unknown) => Promise<unknown>;
  /** Only DPoP-bound credentials may call it (`requireDpop`). */
  dpop: boolean;
}

/** What tRPC will do with a request, worked out before it runs. */
export interface TrpcRequestPlan {
  /** The known procedures called, in batch order; unknown names are left out (tRPC 404s them). */
  calls: PlannedCall[];
  /** A batch (`?batch=1`): errors about the whole request carry no procedure path. */
  batch: boolean;
  /**
   * tRPC will run every call and answer each with its own status in one JSON body (a plain,
   * non-streaming call or batch), so a batch mixing public and protected calls still delivers
   * the public results (207). Otherwise the status is decided before any call has run: a stream,
   * a HEAD, or a request tRPC refuses whole.
   */
  perCall: boolean;
  /** How the request is refused whatever its credentials (405 with `allow`, 415). */
  refusal: { error: TRPCError; allow?: string } | undefined;
}

const ENDPOINT_METHODS = ["GET", "HEAD", "POST"] as const;
const METHODS_BY_TYPE: Record<TRPCProcedureType, readonly string[]> = {
  query: ["GET", "HEAD"],
  mutation: ["POST"],
  subscription: ["GET", "HEAD"],
};
// tRPC parses these bodies only for POST, and refuses a GET that announces one.
const BODY_ONLY_TYPES = new Set(["multipart/form-data", "application/octet-stream"]);

/** `decodeURIComponent`, or `undefined` where tRPC refuses the path as badly encoded. */
function decodePath(path: string): string | undefined {
  if (!path.includes("%")) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

const mediaType = (headers: IncomingHttpHeaders) =>
  headers["content-type"]?.toLowerCase().split(";", 1)[0]?.trim();

/**
 * Any hint of a streamed answer (tRPC streams a batch on `trpc-accept: application/jsonl` or an
 * `Accept` listing it). Read loosely on purpose: a request wrongly taken for a stream only loses
 * the per-call statuses of a mixed batch, one wrongly taken for a plain one could stream out an
 * auth failure under a 200.
 */
const mayStream = (headers: IncomingHttpHeaders) =>
  headers["trpc-accept"] !== undefined || (headers.accept?.includes("jsonl") ?? false);

/**
 * Creates the planner of a router's HTTP requests. Reading every procedure's requirement once,
 * here, keeps the per-request work to a split and a few map lookups. Lazy routers are refused:
 * the gate must know every procedure before tRPC loads it.
 */
export function createTrpcRequestPlanner(router: AnyTRPCRouter, maxBatchSize: number) {
  if (Object.keys(router._def.lazy ?? {}).length > 0) {
    throw new Error("the HTTP auth gate needs every procedure up front: lazy routers are refused");
  }
  const known = new Map<string, PlannedCall>();
  for (const [name, procedure] of Object.entries(router._def.procedures)) {
    const def = (
      procedure as { _def: { type: TRPCProcedureType; meta?: ProcedureMeta; inputs: Parser[] } }
    )._def;
    known.set(name, {
      name,
      type: def.type,
      auth: def.meta?.auth === true,
      scopes: def.meta?.scopes ?? [],
      ...(def.type === "subscription" ? { parseInput: inputParser(def.inputs) } : {}),
      dpop: def.meta?.dpop === true,
    });
  }

  /**
   * Plans one request. `path` is the part after `/trpc/` as received and `search` its query
   * string without a fragment; both are read exactly as tRPC's adapter will read them (the path
   * percent-decoded, then split at commas for a batch), so a name cannot hide from the gate and
   * still reach its procedure.
   */
  return (
    method: string,
    path: string,
    search: string,
    headers: IncomingHttpHeaders,
  ): TrpcRequestPlan => {
    const batch = search !== "" && new URLSearchParams(search).get("batch") === "1";
    const decoded = decodePath(path);
    const names = decoded === undefined ? [] : batch ? decoded.split(",") : [decoded];
    const calls: PlannedCall[] = [];
    // tRPC refuses an oversized batch whole, before any call.
    if (names.length <= maxBatchSize) {
      for (const name of names) {
        const call = known.get(name);
        if (call !== undefined) calls.push(call);
      }
    }
    const types = new Set(calls.map((call) => call.type));
    const refusal = refusalOf(method, types, headers);
    const contentType = mediaType(headers);
    const perCall =
      refusal === undefined &&
      (method === "GET" || (method === "POST" && contentType === "application/json")) &&
      types.size <= 1 &&
      !types.has("subscription") &&
      !mayStream(headers);
    return { calls, batch, perCall, refusal };
  };
}

/** Runs a procedure's input parsers in turn, as tRPC's input middleware does. */
function inputParser(inputs: readonly Parser[]): (raw: unknown) => Promise<unknown> {
  const parsers = inputs.map((parser) => getParseFn(parser));
  return async (raw) => {
    let value = raw;
    for (const parse of parsers) value = await parse(value);
    return value;
  };
}

function refusalOf(
  method: string,
  types: ReadonlySet<TRPCProcedureType>,
  headers: IncomingHttpHeaders,
): TrpcRequestPlan["refusal"] {
  const accepted = ENDPOINT_METHODS.filter(
    (candidate) =>
      types.size === 0 || [...types].some((type) => METHODS_BY_TYPE[type].includes(candidate)),
  );
  if (!accepted.includes(method as (typeof ENDPOINT_METHODS)[number])) {
    const allow = accepted.join(", ");
    return {
      error: new TRPCError({
        code: "METHOD_NOT_SUPPORTED",
        message: `${method} is not supported here; use ${allow}`,
      }),
      allow,
    };
  }
  const contentType = mediaType(headers);
  if (method !== "POST" && contentType !== undefined && BODY_ONLY_TYPES.has(contentType)) {
    return {
      error: new TRPCError({
        code: "UNSUPPORTED_MEDIA_TYPE",
        message: `A ${method} request carries no body: its input goes in the query string`,
      }),
    };
  }
  return undefined;
}
