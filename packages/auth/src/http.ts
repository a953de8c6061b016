import { type AuthError, InsufficientScopeError, KeysUnavailableError } from "./errors.js";
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

/** Options of {@link buildWwwAuthenticate} and {@link buildAuthErrorHeaders}. */
export interface WwwAuthenticateOptions {
  /** The protection space reported in the challenge. Default `"api"`. */
  realm?: string;
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
 * Every parameter value is quoted safely: a realm or scope containing quotes, backslashes or
 * control characters cannot break the header.
 */
export function buildWwwAuthenticate(
  error: AuthError,
  options: WwwAuthenticateOptions = {},
): string | undefined {
  if (error instanceof KeysUnavailableError || error.status === 503) return undefined;
  const realm = `Bearer realm=${quoteRealm(options.realm ?? "api")}`;
  switch (error.oauthError) {
    case undefined:
      return realm;
    case "invalid_request":
      return `${realm}, error="invalid_request"`;
    case "invalid_token":
      return `${realm}, error="invalid_token", error_description=${quoteRestricted(error.message)}`;
    case "insufficient_scope": {
      const scopes = error instanceof InsufficientScopeError ? error.requiredScopes.join(" ") : "";
      return `${realm}, error="insufficient_scope", scope=${quoteRestricted(scopes)}`;
    }
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
  if (error instanceof KeysUnavailableError) return { "Retry-After": String(error.retryAfter) };
  const challenge = buildWwwAuthenticate(error, options);
  return challenge === undefined ? {} : { "WWW-Authenticate": challenge };
}
