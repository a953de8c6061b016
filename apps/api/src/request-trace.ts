import {
  type AuthErrorCode,
  type AuthenticatedClaims,
  type DpopProofReason,
  InvalidDpopProofError,
  InvalidTokenError,
  type InvalidTokenReason,
  isAuthError,
} from "@repo/auth";

/**
 * What one request did, filled in while it runs and read once when it ends (for the request log
 * line and the metrics). Holds no token.
 */
export interface RequestTrace {
  /** The request's id (`x-request-id`), in every log line about the request. */
  requestId?: string;
  /** The request's verification, shared by every protected call of a batch. */
  verification?: Promise<AuthenticatedClaims>;
  /** The DPoP key thumbprint the request proved (not a secret: it names a public key). */
  dpopJkt?: string;
  /** A new DPoP nonce for the client, sent as `DPoP-Nonce` on the answer. */
  dpopNonce?: string;
  sub?: string;
  azp?: string;
  /** The verified token's `jti` (for the audit trail). */
  jti?: string;
  /** Why verification failed. */
  authError?: AuthErrorCode;
  authReason?: InvalidTokenReason | DpopProofReason;
  /** Scopes the request's calls needed and the verified token lacked. */
  missingScopes?: readonly string[];
  /** The HTTP status of each call, in batch order, once tRPC has answered. */
  callStatuses?: number[];
}

/**
 * Notes in `trace` who the verification's outcome names (`sub`, `azp`) or why it failed, and
 * returns the verification unchanged.
 */
export function traceVerification(
  trace: RequestTrace,
  verification: Promise<AuthenticatedClaims>,
): Promise<AuthenticatedClaims> {
  return verification.then(
    (claims) => {
      trace.sub = claims.sub;
      trace.azp = claims.azp ?? claims.client_id;
      trace.dpopJkt = claims.dpop?.jkt;
      trace.dpopNonce = claims.dpop?.nextNonce;
      if (typeof claims.jti === "string") trace.jti = claims.jti;
      return claims;
    },
    (error: unknown) => {
      if (isAuthError(error)) trace.authError = error.code;
      if (error instanceof InvalidTokenError || error instanceof InvalidDpopProofError) {
        trace.authReason = error.reason;
      }
      throw error;
    },
  );
}

/** Adds scopes a call needed and the token lacked to the request's trace (each named once). */
export function traceMissingScopes(trace: RequestTrace, missing: readonly string[]): void {
  trace.missingScopes = [...new Set([...(trace.missingScopes ?? []), ...missing])];
}
