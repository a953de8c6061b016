import * as oauth from "oauth4webapi";
import { readCappedBody } from "../read-capped-body.js";
import {
  InvalidTokenResponseError,
  TokenClientError,
  TokenEndpointError,
  TokenNetworkError,
  TokenRequestTimeoutError,
} from "./errors.js";
import { parseRetryAfter } from "./retry-after.js";
import type { TokenSet } from "./types.js";

/** Larger token responses are refused: no real token response comes close. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** The authorization server and client as oauth4webapi describes them, plus transport settings. */
export interface TokenEndpointContext {
  readonly as: oauth.AuthorizationServer;
  readonly client: oauth.Client;
  readonly clientAuth: oauth.ClientAuth;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  /** Per-attempt limit in ms, covering the connection, the headers and the body. */
  readonly timeout: number;
  /** Lifetime assumed when the server omits `expires_in`, in seconds. */
  readonly defaultExpiresIn: number;
  /** Aborts the attempt from outside (the client was closed). */
  readonly signal?: AbortSignal | undefined;
  /** Asks for a token bound to this key (RFC 9449): the request carries a proof. */
  readonly dpop?: oauth.DPoPHandle | undefined;
  /** Called before the request is sent again with the server's new DPoP nonce. */
  readonly onNonceRetry?: (() => void) | undefined;
}

/**
 * One client-credentials token request, validated. Throws a `TokenClientError` on every failure.
 * With DPoP, an answer `use_dpop_nonce` (RFC 9449 §8) is followed by one more POST: oauth4webapi
 * took the nonce from that answer's `DPoP-Nonce` header and puts it in the new proof.
 */
export async function requestToken(
  ctx: TokenEndpointContext,
  parameters: URLSearchParams,
  requestedScope: string | undefined,
): Promise<TokenSet> {
  try {
    return await exchange(ctx, parameters, requestedScope);
  } catch (err) {
    if (!(ctx.dpop && err instanceof TokenEndpointError && err.error === "use_dpop_nonce")) {
      throw err;
    }
    ctx.onNonceRetry?.();
    return exchange(ctx, parameters, requestedScope);
  }
}

async function exchange(
  ctx: TokenEndpointContext,
  parameters: URLSearchParams,
  requestedScope: string | undefined,
): Promise<TokenSet> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ctx.timeout);
  const onOuterAbort = () => controller.abort();
  ctx.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const issuedAt = ctx.now();
  try {
    const response = await oauth.clientCredentialsGrantRequest(
      ctx.as,
      ctx.client,
      ctx.clientAuth,
      parameters,
      {
        signal: controller.signal,
        DPoP: ctx.dpop,
        [oauth.customFetch]: (url, init) =>
          guardTransport(() => ctx.fetch(url, init), controller.signal, ctx.timeout),
        [oauth.allowInsecureRequests]: new URL(ctx.as.token_endpoint ?? "").protocol === "http:",
      },
    );
    const body = await guardTransport(
      () => readCapped(response, MAX_RESPONSE_BYTES),
      controller.signal,
      ctx.timeout,
    );
    return await parseTokenResponse(ctx, response, body, issuedAt, requestedScope);
  } finally {
    clearTimeout(timer);
    ctx.signal?.removeEventListener("abort", onOuterAbort);
  }
}

/** Runs an I/O step and turns its failure into a timeout or network error. */
export async function guardTransport<T>(
  step: () => Promise<T>,
  signal: AbortSignal,
  timeout: number,
): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof TokenClientError) throw err;
    if (signal.aborted) throw new TokenRequestTimeoutError(timeout, { cause: err });
    throw new TokenNetworkError("token endpoint unreachable", { cause: err });
  }
}

/** Reads the body within the size cap, or refuses the response as invalid. */
async function readCapped(response: Response, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const body = await readCappedBody(response, limit);
  if (body === undefined) throw tooLarge(response.status, limit);
  return body;
}

function tooLarge(status: number, limit: number): InvalidTokenResponseError {
  return new InvalidTokenResponseError(`token response body exceeds ${limit} bytes`, { status });
}

async function parseTokenResponse(
  ctx: TokenEndpointContext,
  response: Response,
  body: Uint8Array<ArrayBuffer>,
  issuedAt: number,
  requestedScope: string | undefined,
): Promise<TokenSet> {
  const { status } = response;
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"), ctx.now());
  const json = parseJsonObject(body);
  if (typeof json?.error === "string" && json.error.length > 0) {
    throw new TokenEndpointError({
      error: json.error,
      status,
      errorDescription:
        typeof json.error_description === "string" ? json.error_description : undefined,
      retryAfter,
    });
  }
  // Without an OAuth error body or a challenge to read, the status is all there is to go on.
  if (status !== 200 && !response.headers.has("www-authenticate")) {
    throw new TokenEndpointError({ error: errorForStatus(status), status, retryAfter });
  }
  // oauth4webapi validates the rest (status, challenges, types); it reads a fresh copy of the body.
  const copy = new Response(body.byteLength > 0 ? body : null, {
    status,
    headers: response.headers,
  });
  let parsed: oauth.TokenEndpointResponse;
  try {
    parsed = await oauth.processClientCredentialsResponse(ctx.as, ctx.client, copy);
  } catch (err) {
    throw fromProcessingError(err, status);
  }
  // A server that ignores the proof answers a Bearer token: refused, since the caller asked
  // for a token that is useless without its key, and the API may insist on that.
  const tokenType = ctx.dpop ? "DPoP" : "Bearer";
  if (parsed.token_type !== tokenType.toLowerCase()) {
    throw new InvalidTokenResponseError(`token response token_type is not ${tokenType}`, {
      status,
    });
  }
  const expiresIn = parsed.expires_in ?? ctx.defaultExpiresIn;
  if (!(Number.isFinite(expiresIn) && expiresIn > 0)) {
    throw new InvalidTokenResponseError("token response expires_in is not a positive number", {
      status,
    });
  }
  return {
    accessToken: parsed.access_token,
    tokenType,
    issuedAt,
    expiresAt: issuedAt + expiresIn * 1000,
    scope: parsed.scope ?? requestedScope,
  };
}

function parseJsonObject(body: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(body));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function errorForStatus(status: number): string {
  if (status === 401) return "invalid_client";
  if (status === 429 || status === 503) return "temporarily_unavailable";
  if (status >= 500) return "server_error";
  return "invalid_request";
}

// oauth4webapi keeps the response body (access token included) in its errors' `cause`, so only
// their code and message travel on.
function fromProcessingError(err: unknown, status: number): TokenClientError {
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    const challenge = err.cause[0];
    return new TokenEndpointError({
      error: challenge?.parameters.error ?? errorForStatus(status),
      status,
      errorDescription: challenge?.parameters.error_description,
    });
  }
  if (err instanceof oauth.ResponseBodyError) {
    return new TokenEndpointError({
      error: err.error,
      status,
      errorDescription: err.error_description,
    });
  }
  if (err instanceof oauth.OperationProcessingError && err.code === oauth.RESPONSE_IS_NOT_CONFORM) {
    return new TokenEndpointError({ error: errorForStatus(status), status });
  }
  const message = err instanceof Error ? err.message : "unreadable token response";
  const code = (err as { code?: unknown } | undefined)?.code;
  return new InvalidTokenResponseError(`invalid token response: ${message}`, {
    status,
    cause: new SanitizedCause(message, typeof code === "string" ? code : undefined),
  });
}

/** The library error with its code and message only, nothing from the response body. */
class SanitizedCause extends Error {
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = "OperationProcessingError";
    this.code = code;
  }
}
