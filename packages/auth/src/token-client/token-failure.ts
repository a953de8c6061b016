import {
  InvalidTokenResponseError,
  TokenClientClosedError,
  type TokenClientError,
  type TokenClientErrorCode,
  TokenEndpointError,
  TokenNetworkError,
  TokenRequestTimeoutError,
} from "./errors.js";

/**
 * A failed token request as stored for other callers and processes: enough to rebuild the same
 * typed error, nothing secret (no body, no cause).
 */
export interface TokenFailure {
  readonly code: TokenClientErrorCode;
  readonly message: string;
  /** When the request failed, epoch ms. */
  readonly failedAt: number;
  readonly error?: string | undefined;
  readonly errorDescription?: string | undefined;
  readonly status?: number | undefined;
  readonly retryAfter?: number | undefined;
  readonly timeout?: number | undefined;
}

export function toTokenFailure(err: TokenClientError, failedAt: number): TokenFailure {
  const failure: TokenFailure = { code: err.code, message: err.message, failedAt };
  if (err instanceof TokenEndpointError) {
    const { error, errorDescription, status, retryAfter } = err;
    return { ...failure, error, errorDescription, status, retryAfter };
  }
  if (err instanceof TokenRequestTimeoutError) return { ...failure, timeout: err.timeout };
  if (err instanceof InvalidTokenResponseError) return { ...failure, status: err.status };
  return failure;
}

export function fromTokenFailure(failure: TokenFailure): TokenClientError {
  switch (failure.code) {
    case "ERR_TOKEN_ENDPOINT":
      return new TokenEndpointError({
        error: failure.error ?? "server_error",
        status: failure.status ?? 500,
        errorDescription: failure.errorDescription,
        retryAfter: failure.retryAfter,
      });
    case "ERR_TOKEN_REQUEST_TIMEOUT":
      return new TokenRequestTimeoutError(failure.timeout ?? 0);
    case "ERR_TOKEN_INVALID_RESPONSE":
      return new InvalidTokenResponseError(failure.message, { status: failure.status });
    case "ERR_TOKEN_CLIENT_CLOSED":
      return new TokenClientClosedError();
    default:
      return new TokenNetworkError(failure.message);
  }
}

export function isTokenFailure(value: unknown): value is TokenFailure {
  const v = value as Partial<TokenFailure> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.code === "string" &&
    typeof v.message === "string" &&
    typeof v.failedAt === "number"
  );
}
