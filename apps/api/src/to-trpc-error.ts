import { type AuthError, isAuthError } from "@repo/auth";
import { TRPCError } from "@trpc/server";

const CODE_BY_STATUS = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  503: "SERVICE_UNAVAILABLE",
} as const satisfies Record<AuthError["status"], TRPCError["code"]>;

/**
 * Turns an `AuthError` into the `TRPCError` whose code carries the same HTTP status, keeping the
 * original as `cause` (the response headers are built from it). Anything else is returned as is:
 * a bug must stay a 500, not become a 401.
 */
export function toTRPCError(error: unknown): unknown {
  if (!isAuthError(error)) return error;
  return new TRPCError({
    code: CODE_BY_STATUS[error.status],
    message: error.message,
    cause: error,
  });
}
