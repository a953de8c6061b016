import {
  type AuthErrorCode,
  type AuthenticatedClaims,
  requireScopes as checkScopes,
  type DpopBinding,
  type DpopProofReason,
  DpopRequiredError,
  InsufficientScopeError,
  InvalidDpopProofError,
  InvalidTokenError,
  type InvalidTokenReason,
  isAuthError,
  KeysUnavailableError,
  type OAuthBearerErrorCode,
} from "@repo/auth";
import { initTRPC } from "@trpc/server";
import { authenticateRequest } from "./authenticate-request.js";
import type { Context } from "./context.js";
import { toDatabaseError } from "./database-errors.js";
import { inputErrors } from "./input-errors.js";
import { traceMissingScopes } from "./request-trace.js";
import { toTRPCError } from "./to-trpc-error.js";

/** The scopes this API defines; `requireScopes` accepts only these, so a typo fails to compile. */
export type ApiScope = "read:items" | "write:items" | "admin:items" | "read:audit";

/**
 * A procedure's `meta`: what it needs from the request's credentials. `protectedProcedure` sets
 * `auth`, `requireScopes` sets `auth` and `scopes`; the HTTP auth gate reads them to decide before
 * tRPC runs (tRPC merges `.meta()` calls shallowly, so later calls keep these keys).
 */
export interface ProcedureMeta {
  /** Only a request whose bearer token verifies may call the procedure. */
  auth?: true;
  /** Scopes the verified token must grant. */
  scopes?: readonly ApiScope[];
  /** Only DPoP-bound credentials (token and proof), whatever the API's `DPOP` mode. */
  dpop?: true;
}

/** What an error body's `data.auth` says about an auth failure (stable values, never the token). */
export interface AuthErrorDetails {
  code: AuthErrorCode;
  oauthError: OAuthBearerErrorCode | null;
  /** Why the token was refused (`invalid_token` only). */
  reason?: InvalidTokenReason;
  /** Why the DPoP proof was refused (`invalid_dpop_proof` only). */
  proofReason?: DpopProofReason;
  /** Scopes the call needs that the token lacks (`insufficient_scope` only). */
  missingScopes?: readonly string[];
  /** Seconds after which a retry is sensible (keys unavailable only). */
  retryAfter?: number;
}

function authErrorDetails(cause: unknown): AuthErrorDetails | null {
  if (!isAuthError(cause)) return null;
  return {
    code: cause.code,
    oauthError: cause.oauthError ?? null,
    ...(cause instanceof InvalidTokenError ? { reason: cause.reason } : {}),
    ...(cause instanceof InvalidDpopProofError ? { proofReason: cause.reason } : {}),
    ...(cause instanceof InsufficientScopeError ? { missingScopes: cause.missingScopes } : {}),
    ...(cause instanceof KeysUnavailableError ? { retryAfter: cause.retryAfter } : {}),
  };
}

/** How often an open subscription stream sends a ping event. */
export const SSE_PING_INTERVAL_MS = 15_000;

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    // Subscriptions (SSE): a comment-sized ping keeps idle streams through proxies that cut silent
    // connections, and lets tRPC clients notice a dead one and reconnect.
    sse: {
      ping: { enabled: true, intervalMs: SSE_PING_INTERVAL_MS },
      client: { reconnectAfterInactivityMs: 3 * SSE_PING_INTERVAL_MS },
    },
    // Stack traces stay in the server log; clients get the code, the message and the auth details.
    isDev: false,
    errorFormatter: ({ shape, error }) => {
      const invalid = inputErrors(error.cause);
      return {
        ...shape,
        // An unexpected error's message may describe internals; the log has it, the caller not.
        message:
          error.code === "INTERNAL_SERVER_ERROR"
            ? "Internal server error"
            : (invalid?.message ?? shape.message),
        data: {
          ...shape.data,
          auth: authErrorDetails(error.cause),
          input: invalid?.details ?? null,
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** A procedure anyone may call. Its context has no `auth`. */
export const publicProcedure = t.procedure;

/**
 * A procedure that runs only for a request whose token verified (`Bearer`, or `DPoP` with a valid
 * proof, as the API's `DPOP` mode allows). Its handler gets the verified claims as `ctx.auth`
 * (never null), with `ctx.auth.dpop` (`{ jkt }`) when the request proved a DPoP key; a failed
 * verification answers with the RFC 6750 / RFC 9449 status and challenge before the handler is
 * reached. Every protected call of a batch shares one verification.
 */
export const protectedProcedure = t.procedure.meta({ auth: true }).use(async ({ ctx, next }) => {
  let auth: AuthenticatedClaims;
  try {
    auth = await authenticateRequest(ctx);
  } catch (error) {
    throw toTRPCError(error);
  }
  return next({ ctx: { auth } });
});

/**
 * Marks a procedure that uses the database: a database outage answers 503 with `Retry-After`
 * (and the log keeps the driver's error) instead of a 500.
 */
export const usesDatabase = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const error = toDatabaseError(result.error.cause);
    if (error !== result.error.cause) throw error;
  }
  return result;
});

/**
 * A protected procedure that also needs every listed scope; a token without one answers 403
 * `insufficient_scope` naming the scopes.
 *
 * @example
 * const create = requireScopes("write:items").mutation(({ ctx }) => ctx.auth.sub);
 */
export function requireScopes<const S extends ApiScope>(...scopes: [S, ...S[]]) {
  return protectedProcedure.meta({ auth: true, scopes }).use(({ ctx, next }) => {
    try {
      checkScopes(ctx.auth, scopes, { from: ctx.services.scopesFrom });
    } catch (error) {
      if (error instanceof InsufficientScopeError) {
        traceMissingScopes(ctx.trace, error.missingScopes);
      }
      throw toTRPCError(error);
    }
    return next();
  });
}

/**
 * A protected procedure that only DPoP-bound credentials may call, even where the API's `DPOP`
 * mode is `allowed`: a bearer token answers 401 with a `DPoP` challenge. With scopes, each is also
 * required as by {@link requireScopes}. The handler's `ctx.auth.dpop` is never undefined.
 *
 * @example
 * const binding = requireDpop().query(({ ctx }) => ctx.auth.dpop.jkt);
 */
export function requireDpop<const S extends ApiScope>(...scopes: S[]) {
  return protectedProcedure
    .meta({ auth: true, dpop: true, ...(scopes.length > 0 ? { scopes } : {}) })
    .use(({ ctx, next }) => {
      const { dpop } = ctx.auth;
      if (dpop === undefined) throw toTRPCError(new DpopRequiredError());
      if (scopes.length > 0) {
        try {
          checkScopes(ctx.auth, scopes, { from: ctx.services.scopesFrom });
        } catch (error) {
          if (error instanceof InsufficientScopeError) {
            traceMissingScopes(ctx.trace, error.missingScopes);
          }
          throw toTRPCError(error);
        }
      }
      return next({
        ctx: { auth: { ...ctx.auth, dpop } as AuthenticatedClaims & { dpop: DpopBinding } },
      });
    });
}
