/** Stable codes of every error the token client throws. Match on these, never on messages. */
export type TokenClientErrorCode =
  | "ERR_TOKEN_ENDPOINT"
  | "ERR_TOKEN_REQUEST_TIMEOUT"
  | "ERR_TOKEN_NETWORK"
  | "ERR_TOKEN_INVALID_RESPONSE"
  | "ERR_TOKEN_CLIENT_CLOSED";

/**
 * Base of every token-client error. Messages never contain the client secret, a client assertion
 * or an access token; the original failure is kept in `cause` when it holds none of those.
 */
export abstract class TokenClientError extends Error {
  abstract readonly code: TokenClientErrorCode;
  /** Whether another attempt may succeed (429, 5xx, network failures, timeouts). */
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable: boolean }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable;
  }
}

/**
 * The token endpoint answered with an error: an OAuth error body (`invalid_client`,
 * `invalid_scope`, …), a `WWW-Authenticate` challenge, 429 or a 5xx.
 *
 * When the server sent no OAuth error code, `error` is derived from the status:
 * `invalid_client` for 401, `temporarily_unavailable` for 429 and 503, `server_error` for other
 * 5xx, `invalid_request` otherwise.
 *
 * @example
 * ```ts
 * try {
 *   await tokens.getToken();
 * } catch (err) {
 *   if (err instanceof TokenEndpointError && err.error === "invalid_client") {
 *     // wrong client id or secret: fix the configuration, retrying will not help
 *   }
 * }
 * ```
 */
export class TokenEndpointError extends TokenClientError {
  readonly code = "ERR_TOKEN_ENDPOINT";
  /** The OAuth 2.0 `error` code (RFC 6749 §5.2). */
  readonly error: string;
  /** The server's `error_description`, when it sent one. */
  readonly errorDescription: string | undefined;
  /** HTTP status of the response (200 when a success status carried an `error` body). */
  readonly status: number;
  /** Delay the server asked for with `Retry-After`, in milliseconds. */
  readonly retryAfter: number | undefined;

  constructor(options: {
    error: string;
    status: number;
    errorDescription?: string | undefined;
    retryAfter?: number | undefined;
    cause?: unknown;
  }) {
    const retryable = options.status === 429 || options.status >= 500;
    super(`token endpoint answered ${options.status} ${options.error}`, {
      cause: options.cause,
      retryable,
    });
    this.error = options.error;
    this.errorDescription = options.errorDescription;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
  }
}

/** The token request (or discovery) did not complete within the configured `timeout`. */
export class TokenRequestTimeoutError extends TokenClientError {
  readonly code = "ERR_TOKEN_REQUEST_TIMEOUT";
  /** The timeout that elapsed, in milliseconds. */
  readonly timeout: number;

  constructor(timeout: number, options: { cause?: unknown } = {}) {
    super(`token request timed out after ${timeout} ms`, { ...options, retryable: true });
    this.timeout = timeout;
  }
}

/** The token endpoint (or discovery document) could not be reached: DNS, refused, reset. */
export class TokenNetworkError extends TokenClientError {
  readonly code = "ERR_TOKEN_NETWORK";

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
  }
}

/**
 * The token endpoint (or discovery document) answered something that is not a usable response:
 * not JSON, too large, no `access_token`, a `token_type` other than Bearer, a bad `expires_in`.
 */
export class InvalidTokenResponseError extends TokenClientError {
  readonly code = "ERR_TOKEN_INVALID_RESPONSE";
  /** HTTP status of the response. */
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number | undefined; cause?: unknown } = {}) {
    super(message, { cause: options.cause, retryable: false });
    this.status = options.status;
  }
}

/**
 * The discovery document names another `issuer` than the configured `issuerBaseURL` (RFC 8414
 * §3.3, OpenID Connect Discovery §4.3), beyond one trailing slash of difference. Nothing in it is
 * used and no token is requested: the client secret never goes to a token endpoint it names. A
 * wrong tenant, `http` for `https`, or a server that lies; retrying does not help.
 */
export class DiscoveryIssuerMismatchError extends InvalidTokenResponseError {
  /** The configured issuer (`issuerBaseURL` as parsed). */
  readonly expected: string;
  /** The document's `issuer`, at most its first 200 characters. */
  readonly found: string;

  constructor(expected: string, found: string, options: { status?: number | undefined } = {}) {
    const shown = found.slice(0, 200);
    super(`discovery document names issuer "${shown}", expected "${expected}"`, options);
    this.expected = expected;
    this.found = shown;
  }
}

/** The client was closed with `close()`; it serves no more tokens. */
export class TokenClientClosedError extends TokenClientError {
  readonly code = "ERR_TOKEN_CLIENT_CLOSED";

  constructor() {
    super("token client is closed", { retryable: false });
  }
}
