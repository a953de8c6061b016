import {
  type AuthError,
  InsufficientScopeError,
  KeysUnavailableError,
  ReplayStoreUnavailableError,
  UseDpopNonceError,
} from "./errors.js";
import { checkB64Token, readBearerToken } from "./verifier/bearer-token.js";

/**
 * Reads the bearer token from an `Authorization` header value (RFC 6750 §2.1). The scheme is
 * case-insensitive; exactly one token separated by spaces must follow.
 *
 * - no header, an empty one, or another scheme (`Basic …`) → {@link MissingTokenError} (401, bare
 *   challenge);
 * - `Bearer` without a token, two tokens, a tab, a comma list, characters outside the b64token
 *   grammar, or the header given more than once → {@link InvalidRequestError} (400).
 *
 * Accepts what frameworks hand over: a string, a string array (Node's `IncomingHttpHeaders` for
 * repeated headers), `null` (`Headers.get`) or `undefined`.
 *
 * @example
 * ```ts
 * const token = parseAuthorizationHeader(request.headers.get("authorization"));
 * ```
 */
export function parseAuthorizationHeader(
  value: string | readonly string[] | null | undefined,
): string {
  const token = readBearerToken(value);
  checkB64Token(token);
  return token;
}

/** How a resource server takes DPoP (RFC 9449): both schemes, DPoP only, or Bearer only. */
export type DpopMode = "allowed" | "required" | "disabled";

/** What the `DPoP` challenges of a resource server say (RFC 9449 §7.1). */
export interface DpopChallengeOptions {
  mode: DpopMode;
  /** The proof algorithms accepted, reported as `algs`. */
  algorithms: readonly string[];
}

/** Options of {@link buildWwwAuthenticate} and {@link buildAuthErrorHeaders}. */
export interface WwwAuthenticateOptions {
  /** The protection space reported in the challenge. Default `"api"`. */
  realm?: string;
  /**
   * The server's DPoP settings (the verifier's `dpopChallenge`). Without them, every challenge is
   * `Bearer`, as before DPoP.
   */
  dpop?: DpopChallengeOptions;
}

// RFC 9110 quoted-string: printable ASCII and space; `"` and `\` escaped. Anything else (controls,
// non-ASCII) is replaced so that a header can never be split or rejected by the HTTP stack.
function quoteRealm(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, "?").replace(/["\\]/g, "\\$&")}"`;
}

// RFC 6750 §3: error_description and scope exclude `"` and `\` outright.
function quoteRestricted(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]|["\\]/g, "'")}"`;
}

/**
 * Builds the `WWW-Authenticate` value for an {@link AuthError}, as RFC 6750 §3 and the design's
 * table say:
 *
 * | error | value |
 * |---|---|
 * | MissingTokenError | `Bearer realm="api"` |
 * | InvalidRequestError | `Bearer realm="api", error="invalid_request"` |
 * | InvalidTokenError | `Bearer realm="api", error="invalid_token", error_description="…"` |
 * | InsufficientScopeError | `Bearer realm="api", error="insufficient_scope", scope="…"` |
 * | KeysUnavailableError | `undefined` (answer 503 with `Retry-After` instead) |
 *
 * With `dpop` (RFC 9449 §7.1): an error about `DPoP` credentials (`error.scheme`, e.g.
 * `InvalidDpopProofError`) is written `DPoP realm="api", error="invalid_dpop_proof",
 * error_description="…", algs="ES256 …"`; with no credentials, mode `allowed` names both schemes
 * (`Bearer realm="api", DPoP realm="api", algs="…"`) and mode `required` only `DPoP`.
 *
 * Every parameter value is quoted safely: a realm or scope containing quotes, backslashes or
 * control characters cannot break the header.
 */
export function buildWwwAuthenticate(
  error: AuthError,
  options: WwwAuthenticateOptions = {},
): string | undefined {
  if (error instanceof KeysUnavailableError || error.status === 503) return undefined;
  const realm = `realm=${quoteRealm(options.realm ?? "api")}`;
  const dpop = options.dpop;
  const algs = `algs=${quoteRestricted((dpop?.algorithms ?? []).join(" "))}`;
  const params = errorParameters(error);
  if (error.scheme === "DPoP" && dpop !== undefined && dpop.mode !== "disabled") {
    return `DPoP ${[realm, ...params, algs].join(", ")}`;
  }
  const bearer = `Bearer ${[realm, ...params].join(", ")}`;
  // No credentials (RFC 6750 §3.1, RFC 9449 §7.1): name every scheme the server takes.
  if (error.oauthError === undefined && dpop !== undefined) {
    if (dpop.mode === "required") return `DPoP ${realm}, ${algs}`;
    if (dpop.mode === "allowed") return `${bearer}, DPoP ${realm}, ${algs}`;
  }
  return bearer;
}

function errorParameters(error: AuthError): string[] {
  switch (error.oauthError) {
    case undefined:
      return [];
    case "invalid_request":
      return ['error="invalid_request"'];
    case "insufficient_scope": {
      const scopes = error instanceof InsufficientScopeError ? error.requiredScopes.join(" ") : "";
      return ['error="insufficient_scope"', `scope=${quoteRestricted(scopes)}`];
    }
    default:
      return [`error="${error.oauthError}"`, `error_description=${quoteRestricted(error.message)}`];
  }
}

/**
 * The response headers for an {@link AuthError}: `WWW-Authenticate` for 400/401/403, `Retry-After`
 * for 503.
 *
 * @example
 * ```ts
 * return new Response(null, { status: error.status, headers: buildAuthErrorHeaders(error) });
 * ```
 */
export function buildAuthErrorHeaders(
  error: AuthError,
  options: WwwAuthenticateOptions = {},
): Record<string, string> {
  if (error instanceof KeysUnavailableError || error instanceof ReplayStoreUnavailableError) {
    return { "Retry-After": String(error.retryAfter) };
  }
  const challenge = buildWwwAuthenticate(error, options);
  const headers: Record<string, string> =
    challenge === undefined ? {} : { "WWW-Authenticate": challenge };
  if (error instanceof UseDpopNonceError) headers["DPoP-Nonce"] = error.nonce;
  return headers;
}
