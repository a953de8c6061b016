import {
  type AuthError,
  buildAuthErrorHeaders,
  type DpopChallengeOptions,
  InsufficientScopeError,
  isAuthError,
} from "@repo/auth";
import type { TRPCError } from "@trpc/server";

const REALM = "api";

/**
 * The auth headers of a tRPC response (RFC 6750 §3), from the errors its calls threw.
 *
 * All protected calls of one request share one token, hence one verification: either that failed
 * (one error for the whole request) or it succeeded and only scope checks can fail, per call. So
 * a response carries at most one challenge:
 * - a failed verification: its `WWW-Authenticate` (400/401; in the `DPoP` scheme for DPoP
 *   credentials, with `DPoP-Nonce` when a nonce is asked for), or `Retry-After` for 503;
 * - scope failures: one `insufficient_scope` challenge naming every scope the failed calls need.
 *
 * The status is left to tRPC: the call's status for a single call or a batch whose calls agree,
 * `207 Multi-Status` for a batch whose calls differ (each call's own status is in its
 * `error.data.httpStatus`). The challenge is still sent with a 207: RFC 9110 §11.6.1 allows it on
 * any response, and it tells the caller which credentials would change the failed calls.
 */
export function authResponseHeaders(
  errors: readonly TRPCError[],
  dpop?: DpopChallengeOptions,
): Headers | undefined {
  let tokenError: AuthError | undefined;
  const scopeErrors: InsufficientScopeError[] = [];
  for (const { cause } of errors) {
    if (cause instanceof InsufficientScopeError) scopeErrors.push(cause);
    else if (isAuthError(cause)) tokenError ??= cause;
  }
  const challengeFor = tokenError ?? mergeScopeErrors(scopeErrors);
  if (challengeFor === undefined) return undefined;
  const headers = Object.entries(buildAuthErrorHeaders(challengeFor, { realm: REALM, dpop }));
  return headers.length === 0
    ? undefined
    : new Headers(headers.map(([name, value]): [string, string] => [name.toLowerCase(), value]));
}

/**
 * The scope failures of several calls as one: every scope they need and every scope the token
 * lacks, so one `insufficient_scope` challenge names them all.
 */
export function mergeScopeErrors(
  errors: readonly InsufficientScopeError[],
): InsufficientScopeError | undefined {
  const [first, ...rest] = errors;
  if (first === undefined || rest.length === 0) return first;
  const required = new Set(errors.flatMap((error) => error.requiredScopes));
  const missing = new Set(errors.flatMap((error) => error.missingScopes));
  return new InsufficientScopeError([...required], [...missing], "all", { scheme: first.scheme });
}
