import {
  type AccessTokenClaims,
  type AuthErrorCode,
  requireScopes as checkScopes,
  InsufficientScopeError,
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
}

/** What an error body's `data.auth` says about an auth failure (stable values, never the token). */
export interface AuthErrorDetails {
  code: AuthErrorCode;
  oauthError: OAuthBearerErrorCode | null;
  /** Why the token was refused (`invalid_token` only). */
  reason?: InvalidTokenReason;
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
    ...(cause instanceof InsufficientScopeError ? { missingScopes: cause.missingScopes } : {}),
    ...(cause instanceof KeysUnavailableError ? { retryAfter: cause.retryAfter } : {}),
  };
}

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
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
 * A procedure that runs only for a request whose bearer token verified. Its handler gets the
 * verified claims as `ctx.auth` (never null); a failed verification answers with the RFC 6750
 * status and challenge before the handler is reached. Every protected call of a batch shares one
 * verification.
 */
export const protectedProcedure = t.procedure.meta({ auth: true }).use(async ({ ctx, next }) => {
  let auth: AccessTokenClaims;
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
