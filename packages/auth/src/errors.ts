/**
 * Typed errors of `@repo/auth`. Each carries a stable `code`, the RFC 6750 error code it maps to
 * (`oauthError`), the HTTP `status` to answer with, and the original `cause`. Messages are fixed
 * texts: they never contain a token, a header value or an unverified claim value, so they are safe
 * to log and to send as `error_description`.
 *
 * @example
 * ```ts
 * try {
 *   const claims = await verifier.authenticate(request.headers.get("authorization"));
 * } catch (error) {
 *   if (error instanceof AuthError) {
 *     return new Response(null, { status: error.status, headers: buildAuthErrorHeaders(error) });
 *   }
 *   throw error;
 * }
 * ```
 */

/** Every `code` an {@link AuthError} can carry. */
export type AuthErrorCode =
  | "ERR_AUTH_MISSING_TOKEN"
  | "ERR_AUTH_INVALID_REQUEST"
  | "ERR_AUTH_INVALID_TOKEN"
  | "ERR_AUTH_INSUFFICIENT_SCOPE"
  | "ERR_AUTH_KEYS_UNAVAILABLE"
  | "ERR_AUTH_INVALID_DPOP_PROOF"
  | "ERR_AUTH_USE_DPOP_NONCE"
  | "ERR_AUTH_DPOP_REQUIRED"
  | "ERR_AUTH_REPLAY_STORE_UNAVAILABLE";

/** RFC 6750 §3.1 error codes, and the two RFC 9449 §7.1, §9 adds for the `DPoP` scheme. */
export type OAuthBearerErrorCode =
  | "invalid_request"
  | "invalid_token"
  | "insufficient_scope"
  | "invalid_dpop_proof"
  | "use_dpop_nonce";

/** HTTP statuses an {@link AuthError} maps to. */
export type AuthErrorStatus = 400 | 401 | 403 | 503;

/**
 * The authentication scheme an error's challenge is written in: `Bearer` (RFC 6750) or `DPoP`
 * (RFC 9449 §7.1), the scheme of the credentials that were refused.
 */
export type AuthScheme = "Bearer" | "DPoP";

/** Why a token was rejected; stable values, suitable as a metrics label. */
export type InvalidTokenReason =
  /** Not a compact JWS: segment count, base64url, JSON, size, or a JWE. */
  | "malformed"
  /** `alg` missing, `none`, or outside the allow-list. */
  | "algorithm"
  /** Header features this verifier refuses (`crit`, `b64: false`, `cty`: no nested JWTs). */
  | "header"
  /** `typ` is not `at+jwt` in strict mode, or not a JWT type. */
  | "type"
  /** No key in the JWKS matches the token's `kid`/`alg`. */
  | "unknown_key"
  /** The signature does not verify. */
  | "signature"
  /** `exp` is in the past (beyond the clock tolerance). */
  | "expired"
  /** `nbf` (or `iat`) is in the future (beyond the clock tolerance). */
  | "not_yet_valid"
  /** `iat` is older than `maxTokenAge`. */
  | "too_old"
  /** `iss` does not match. */
  | "issuer"
  /** `aud` does not contain an accepted audience. */
  | "audience"
  /** A required claim is absent. */
  | "missing_claim"
  /** A claim has the wrong type (e.g. a string `exp`). */
  | "claim_type"
  /**
   * A NumericDate (`exp`, `nbf`, `iat`) outside 0 … 253402300799 (year 9999), or an `exp` not
   * after `iat` or `nbf`.
   */
  | "claim_range"
  /** A custom validator rejected a claim. */
  | "claim_value"
  /** A DPoP-bound token (`cnf.jkt`) sent as a bearer token, without a proof (RFC 9449 §7.1). */
  | "dpop_bound"
  /** Sent with a DPoP proof, the token is not bound (no `cnf.jkt`) or bound to another key. */
  | "dpop_binding";

/** Why a DPoP proof was refused (RFC 9449 §4.3); stable values, suitable as a metrics label. */
export type DpopProofReason =
  /** No `DPoP` header with the `DPoP` scheme. */
  | "missing"
  /** Not a compact JWS of JSON objects, or longer than the limit. */
  | "malformed"
  /** `typ` is not `dpop+jwt`. */
  | "type"
  /** `alg` missing, symmetric, or outside the allow-list. */
  | "algorithm"
  /** `crit`, `b64`, or another header feature this verifier refuses. */
  | "header"
  /** `jwk` missing, private, unsound, or not fit for `alg`. */
  | "jwk"
  /** The signature does not verify with the header's `jwk`. */
  | "signature"
  /** `htm` is not the request's method. */
  | "htm"
  /** `htu` is not the request's URL (scheme, host, port and path). */
  | "htu"
  /** `iat` missing, or outside the accepted window around now. */
  | "iat"
  /** `ath` missing or not the hash of the access token. */
  | "ath"
  /** `jti` missing, empty or too long. */
  | "jti"
  /** The proof's `jti` was used before: a replay. */
  | "replay";

/** Options shared by every {@link AuthError} constructor. */
export interface AuthErrorOptions {
  cause?: unknown;
  /** The scheme of the refused credentials, for the challenge. Default `Bearer`. */
  scheme?: AuthScheme;
}

/**
 * Base class of every error thrown by `@repo/auth`. Test `instanceof AuthError` (or `code`), never
 * the message.
 */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly oauthError: OAuthBearerErrorCode | undefined;
  readonly status: AuthErrorStatus;
  /** The scheme the `WWW-Authenticate` challenge for this error is written in. */
  readonly scheme: AuthScheme;

  constructor(
    message: string,
    code: AuthErrorCode,
    status: AuthErrorStatus,
    oauthError: OAuthBearerErrorCode | undefined,
    options: AuthErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.oauthError = oauthError;
    this.scheme = options.scheme ?? "Bearer";
  }
}

/**
 * No `Authorization` header, or one with a scheme other than `Bearer`. Answer 401 with a bare
 * `WWW-Authenticate: Bearer realm="…"` (RFC 6750 §3.1: no error code when no credentials were sent).
 */
export class MissingTokenError extends AuthError {
  constructor(message = "No bearer token was sent", options?: AuthErrorOptions) {
    super(message, "ERR_AUTH_MISSING_TOKEN", 401, undefined, options);
  }
}

/**
 * The `Authorization` header is malformed: empty token, several tokens, a tab, a comma list, or the
 * header repeated. Answer 400 `invalid_request`.
 */
export class InvalidRequestError extends AuthError {
  constructor(message = "The Authorization header is malformed", options?: AuthErrorOptions) {
    super(message, "ERR_AUTH_INVALID_REQUEST", 400, "invalid_request", options);
  }
}

const invalidTokenMessages: Record<InvalidTokenReason, string> = {
  malformed: "The access token is malformed",
  algorithm: "The access token is signed with an algorithm that is not allowed",
  header: "The access token header uses an unsupported feature",
  type: "The access token has the wrong type",
  unknown_key: "The access token is signed with an unknown key",
  signature: "The access token signature is invalid",
  expired: "The access token expired",
  not_yet_valid: "The access token is not valid yet",
  too_old: "The access token was issued too long ago",
  issuer: "The access token issuer is not accepted",
  audience: "The access token audience is not accepted",
  missing_claim: "The access token lacks a required claim",
  claim_type: "The access token has a claim of the wrong type",
  claim_range: "The access token has a claim out of range",
  claim_value: "The access token has a claim that is not accepted",
  dpop_bound: "The access token is DPoP-bound and needs a DPoP proof",
  dpop_binding: "The access token is not bound to the DPoP proof's key",
};

/**
 * The token failed verification. Answer 401 `invalid_token`; `reason` says why (stable values).
 * `claim` names the claim at fault when there is one (a claim *name* from the configuration, never
 * a value from the token).
 */
export class InvalidTokenError extends AuthError {
  readonly reason: InvalidTokenReason;
  readonly claim: string | undefined;

  constructor(reason: InvalidTokenReason, options: AuthErrorOptions & { claim?: string } = {}) {
    const message =
      options.claim === undefined
        ? invalidTokenMessages[reason]
        : `${invalidTokenMessages[reason]}: "${options.claim}"`;
    super(message, "ERR_AUTH_INVALID_TOKEN", 401, "invalid_token", options);
    this.reason = reason;
    this.claim = options.claim;
  }
}

const dpopProofMessages: Record<DpopProofReason, string> = {
  missing: "The DPoP proof is missing",
  malformed: "The DPoP proof is malformed",
  type: "The DPoP proof has the wrong type",
  algorithm: "The DPoP proof is signed with an algorithm that is not allowed",
  header: "The DPoP proof header uses an unsupported feature",
  jwk: "The DPoP proof key is missing or not an acceptable public key",
  signature: "The DPoP proof signature is invalid",
  htm: "The DPoP proof is for another HTTP method",
  htu: "The DPoP proof is for another URL",
  iat: "The DPoP proof was not issued recently",
  ath: "The DPoP proof is for another access token",
  jti: "The DPoP proof has no usable jti",
  replay: "The DPoP proof was used before",
};

/**
 * The DPoP proof failed a check of RFC 9449 §4.3. Answer 401 with a `DPoP` challenge,
 * `error="invalid_dpop_proof"` and the accepted `algs`; `reason` says which check (stable values).
 */
export class InvalidDpopProofError extends AuthError {
  readonly reason: DpopProofReason;

  constructor(reason: DpopProofReason, options: AuthErrorOptions = {}) {
    super(dpopProofMessages[reason], "ERR_AUTH_INVALID_DPOP_PROOF", 401, "invalid_dpop_proof", {
      ...options,
      scheme: "DPoP",
    });
    this.reason = reason;
  }
}

/**
 * The proof lacks the server's current nonce (RFC 9449 §9): answer 401 `use_dpop_nonce` with the
 * nonce to use in a `DPoP-Nonce` header; the client sends a new proof carrying it.
 */
export class UseDpopNonceError extends AuthError {
  /** The nonce the next proof must carry (`DPoP-Nonce`). */
  readonly nonce: string;

  constructor(nonce: string, options: AuthErrorOptions = {}) {
    super(
      "The DPoP proof must carry the server's nonce",
      "ERR_AUTH_USE_DPOP_NONCE",
      401,
      "use_dpop_nonce",
      {
        ...options,
        scheme: "DPoP",
      },
    );
    this.nonce = nonce;
  }
}

/**
 * Credentials were sent in the `Bearer` scheme where DPoP is required (`mode: "required"`, or an
 * operation that requires it). Answer 401 with a bare `DPoP` challenge naming the accepted `algs`:
 * the client is told which scheme to use, as RFC 6750 §3.1 does for missing credentials.
 */
export class DpopRequiredError extends AuthError {
  constructor(
    message = "A DPoP-bound access token and proof are required",
    options: AuthErrorOptions = {},
  ) {
    super(message, "ERR_AUTH_DPOP_REQUIRED", 401, undefined, { ...options, scheme: "DPoP" });
  }
}

/**
 * The DPoP replay store (Redis for a fleet) did not answer, so a proof cannot be known to be
 * unused. Answer 503 with `Retry-After: retryAfter`: our dependency failed, not the caller.
 */
export class ReplayStoreUnavailableError extends AuthError {
  /** Seconds after which a retry is sensible. */
  readonly retryAfter: number;

  constructor(retryAfter = 1, options?: AuthErrorOptions) {
    super(
      "The DPoP replay store is unavailable",
      "ERR_AUTH_REPLAY_STORE_UNAVAILABLE",
      503,
      undefined,
      options,
    );
    this.retryAfter = Math.max(1, Math.ceil(retryAfter));
  }
}

/** The token is valid but lacks a scope the operation needs. Answer 403 `insufficient_scope`. */
export class InsufficientScopeError extends AuthError {
  /** The scopes the operation asks for (reported in `WWW-Authenticate`'s `scope`). */
  readonly requiredScopes: readonly string[];
  /** The required scopes the token does not grant. */
  readonly missingScopes: readonly string[];
  readonly match: "all" | "any";

  constructor(
    requiredScopes: readonly string[],
    missingScopes: readonly string[],
    match: "all" | "any" = "all",
    options?: AuthErrorOptions,
  ) {
    super(
      "The access token lacks a required scope",
      "ERR_AUTH_INSUFFICIENT_SCOPE",
      403,
      "insufficient_scope",
      options,
    );
    this.requiredScopes = Object.freeze([...requiredScopes]);
    this.missingScopes = Object.freeze([...missingScopes]);
    this.match = match;
  }
}

/**
 * No usable verification key: the JWKS (or discovery) endpoint is unreachable and no cached keys
 * are fresh enough. Answer 503 with `Retry-After: retryAfter` — this is our dependency failing, not
 * the caller's token.
 */
export class KeysUnavailableError extends AuthError {
  /** Seconds after which a retry is sensible. */
  readonly retryAfter: number;

  constructor(retryAfter: number, options?: AuthErrorOptions) {
    super(
      "Verification keys are unavailable",
      "ERR_AUTH_KEYS_UNAVAILABLE",
      503,
      undefined,
      options,
    );
    this.retryAfter = Math.max(1, Math.ceil(retryAfter));
  }
}

/** Whether `value` is an {@link AuthError} (also across duplicated copies of this package). */
export function isAuthError(value: unknown): value is AuthError {
  if (value instanceof AuthError) return true;
  if (!(value instanceof Error)) return false;
  const { code, status } = value as Error & { code?: unknown; status?: unknown };
  return typeof code === "string" && code.startsWith("ERR_AUTH_") && typeof status === "number";
}
