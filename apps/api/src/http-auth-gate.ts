import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type AuthenticatedClaims,
  requireScopes as checkScopes,
  DpopRequiredError,
  InsufficientScopeError,
  InvalidTokenError,
  isAuthError,
} from "@repo/auth";
import { type AnyTRPCRouter, TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { authResponseHeaders, mergeScopeErrors } from "./auth-response-headers.js";
import type { Context } from "./context.js";
import { sendJson } from "./http-helpers.js";
import { traceMissingScopes } from "./request-trace.js";
import { toTRPCError } from "./to-trpc-error.js";
import { createErrorShaper } from "./trpc-error-shape.js";
import {
  createTrpcRequestPlanner,
  type PlannedCall,
  type TrpcRequestPlan,
} from "./trpc-request-plan.js";

/**
 * Runs before tRPC (and before the query fast path) on every `/trpc` request. Returns `true` when
 * it has answered the request itself, `false` when tRPC must serve it; a promise of either when it
 * had to verify the token first.
 */
export type HttpAuthGate = (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  search: string,
  ctx: Context,
) => boolean | Promise<boolean>;

/**
 * Creates the HTTP auth gate: the authentication, scope and method decisions that must be taken
 * before tRPC writes a status.
 *
 * It plans the request (`trpc-request-plan.ts`: the procedures it calls, read as tRPC will read
 * them, and what their `meta` requires). Then:
 * - a plain call or batch, which tRPC answers call by call (207 when the statuses differ), goes
 *   straight to tRPC: each protected call's middleware runs the request's one verification (or
 *   reuses it) and reports its own failure, as it always has;
 * - anything else calling a protected procedure (`meta.auth`, set by `protectedProcedure`) — a
 *   `jsonl` batch stream, an SSE subscription, a HEAD, a method or body tRPC refuses whole — has
 *   its status fixed before a call runs, so the gate runs the verification through `authenticate`
 *   (stored in `ctx.trace`, where the middleware finds it again) and checks every call's scopes
 *   (`meta.scopes`, set by `requireScopes`). A failure is answered here: its status, its
 *   `WWW-Authenticate` or `Retry-After` (`auth-response-headers.ts`) and tRPC's error body.
 *
 * A subscription also needs a valid input (400 otherwise, which tRPC would only report inside a
 * stream), a token whose `exp` has not passed (401 even within the clock leeway: the stream would
 * end at once) and a place under the per-client stream cap (429 with `Retry-After` otherwise).
 *
 * After auth: methods the procedures do not take get 405 with `Allow`; a HEAD is served as the GET
 * it stands for (RFC 9110 §9.3.2), Node sending its headers without the body.
 */
export function createHttpAuthGate(options: {
  router: AnyTRPCRouter;
  maxBatchSize: number;
  /** The request's one verification, shared with the procedures' middleware. */
  authenticate: (ctx: Context) => Promise<AuthenticatedClaims>;
  /**
   * Takes a place for a subscription stream about to open (released when the response closes),
   * or says why it may not open.
   */
  admitStream?: (claims: AuthenticatedClaims, res: ServerResponse) => StreamRefusal | undefined;
}): HttpAuthGate {
  const { router, authenticate, admitStream } = options;
  const plan = createTrpcRequestPlanner(router, options.maxBatchSize);
  const shapeError = createErrorShaper<Context>(router);
  const { output } = router._def._config.transformer;

  const answer = (
    res: ServerResponse,
    planned: TrpcRequestPlan,
    ctx: Context,
    error: TRPCError,
    headers: Record<string, string>,
  ): true => {
    const [only] = planned.calls;
    const single = !planned.batch && only !== undefined;
    const shape = shapeError(error, {
      type: single ? only.type : "unknown",
      path: single ? only.name : undefined,
      input: undefined,
      ctx,
    });
    sendJson(
      res,
      getHTTPStatusCodeFromError(error),
      { error: output.serialize(shape) },
      { vary: "trpc-accept, accept", ...headers },
    );
    return true;
  };

  /** Refuses what no credentials make acceptable, or lets tRPC serve the request. */
  const pass = (
    req: IncomingMessage,
    res: ServerResponse,
    planned: TrpcRequestPlan,
    ctx: Context,
  ) => {
    const { refusal } = planned;
    if (refusal !== undefined) {
      return answer(
        res,
        planned,
        ctx,
        refusal.error,
        refusal.allow ? { allow: refusal.allow } : {},
      );
    }
    // tRPC answers any HEAD with an empty 204 (a warm-up ping); a HEAD must get the GET's answer.
    if (req.method === "HEAD") req.method = "GET";
    return false;
  };

  const authFailure = (
    error: TRPCError,
    res: ServerResponse,
    planned: TrpcRequestPlan,
    ctx: Context,
  ) =>
    answer(
      res,
      planned,
      ctx,
      error,
      Object.fromEntries(authResponseHeaders([error], ctx.services.verifier.dpopChallenge) ?? []),
    );

  const guard = async (
    req: IncomingMessage,
    res: ServerResponse,
    planned: TrpcRequestPlan,
    guarded: PlannedCall[],
    ctx: Context,
    search: string,
  ): Promise<boolean> => {
    let claims: AuthenticatedClaims;
    try {
      claims = await authenticate(ctx);
    } catch (error) {
      // A failure that is not about credentials is a bug: it stays the 500 of the calls that meet
      // it again in their middleware.
      if (!isAuthError(error)) return pass(req, res, planned, ctx);
      return authFailure(toTRPCError(error) as TRPCError, res, planned, ctx);
    }
    if (claims.dpop === undefined && guarded.some((call) => call.dpop)) {
      return authFailure(toTRPCError(new DpopRequiredError()) as TRPCError, res, planned, ctx);
    }
    const missing = missingScopes(claims, guarded, ctx);
    if (missing !== undefined) {
      traceMissingScopes(ctx.trace, missing.missingScopes);
      return authFailure(toTRPCError(missing) as TRPCError, res, planned, ctx);
    }
    const inputError = await subscriptionInputError(req, planned, search);
    if (inputError !== undefined) return answer(res, planned, ctx, inputError, {});
    const streams =
      planned.refusal === undefined && planned.calls.some((call) => call.type === "subscription");
    const refused = streams ? admitStream?.(claims, res) : undefined;
    if (refused?.kind === "expired") {
      // Within the clock leeway a token still verifies, but a stream opened with it would end at
      // once: 401 invalid_token makes the caller's token client fetch a fresh token instead.
      const expired = new InvalidTokenError("expired", { claim: "exp" });
      return authFailure(toTRPCError(expired) as TRPCError, res, planned, ctx);
    }
    if (refused !== undefined) {
      const error = new TRPCError({
        code: "TOO_MANY_REQUESTS",
        message: "Too many open streams for this client; close one or retry later",
      });
      return answer(res, planned, ctx, error, { "retry-after": String(refused.retryAfter) });
    }
    return pass(req, res, planned, ctx);
  };

  /** A subscription's input read as tRPC reads it (with `Last-Event-ID`) and validated. */
  const subscriptionInputError = async (
    req: IncomingMessage,
    planned: TrpcRequestPlan,
    search: string,
  ): Promise<TRPCError | undefined> => {
    const [call] = planned.calls;
    if (planned.batch || call?.parseInput === undefined || planned.refusal !== undefined) {
      return undefined;
    }
    const params = new URLSearchParams(search);
    const text = params.get("input");
    let input: unknown;
    try {
      input =
        text === null
          ? undefined
          : router._def._config.transformer.input.deserialize(JSON.parse(text));
    } catch (cause) {
      return new TRPCError({ code: "BAD_REQUEST", message: "The input is not valid JSON", cause });
    }
    const header = req.headers["last-event-id"];
    const lastEventId =
      (typeof header === "string" ? header : undefined) ??
      params.get("lastEventId") ??
      params.get("Last-Event-Id");
    if (lastEventId) {
      if (typeof input === "object" && input !== null) input = { ...input, lastEventId };
      else input ??= { lastEventId };
    }
    try {
      await call.parseInput(input);
      return undefined;
    } catch (cause) {
      return new TRPCError({ code: "BAD_REQUEST", message: "Invalid input", cause });
    }
  };

  return (req, res, path, search, ctx) => {
    const planned = plan(req.method ?? "GET", path, search, req.headers);
    if (planned.perCall) return false;
    const guarded = planned.calls.filter((call) => call.auth);
    if (guarded.length === 0) return pass(req, res, planned, ctx);
    return guard(req, res, planned, guarded, ctx, search);
  };
}

/** Why a subscription stream may not open although its token verified. */
export type StreamRefusal =
  /** The token's `exp` has passed (it verified within the clock leeway). */
  | { kind: "expired" }
  /** The client holds as many streams as it may; retry after this many seconds. */
  | { kind: "busy"; retryAfter: number };

/** The scopes the calls need and the verified token lacks, as one error; none missing: undefined. */
function missingScopes(
  claims: AuthenticatedClaims,
  calls: readonly PlannedCall[],
  ctx: Context,
): InsufficientScopeError | undefined {
  const errors: InsufficientScopeError[] = [];
  for (const call of calls) {
    if (call.scopes.length === 0) continue;
    try {
      checkScopes(claims, call.scopes, { from: ctx.services.scopesFrom });
    } catch (error) {
      if (!(error instanceof InsufficientScopeError)) throw error;
      errors.push(error);
    }
  }
  return mergeScopeErrors(errors);
}
