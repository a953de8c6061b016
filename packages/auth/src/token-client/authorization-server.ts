import * as oauth from "oauth4webapi";
import type { ResolvedClientOptions } from "./client-options.js";
import { InvalidTokenResponseError } from "./errors.js";
import { guardTransport } from "./token-request.js";

type ServerOptions = Pick<
  ResolvedClientOptions,
  "issuerBaseURL" | "tokenEndpoint" | "fetch" | "timeout"
>;

/**
 * The authorization server as the token requests need it: built from `tokenEndpoint` when given,
 * otherwise read from the issuer's discovery document on first use. A failed discovery is not kept,
 * so the next request tries again.
 */
export function authorizationServer(
  options: ServerOptions,
): () => Promise<oauth.AuthorizationServer> {
  let server: Promise<oauth.AuthorizationServer> | undefined;
  return () => {
    server ??= resolveServer(options).catch((err: unknown) => {
      server = undefined;
      throw err;
    });
    return server;
  };
}

async function resolveServer(options: ServerOptions): Promise<oauth.AuthorizationServer> {
  if (options.tokenEndpoint !== undefined) {
    const tokenEndpoint = new URL(options.tokenEndpoint).href;
    const issuer =
      options.issuerBaseURL === undefined ? tokenEndpoint : new URL(options.issuerBaseURL).href;
    return { issuer, token_endpoint: tokenEndpoint };
  }
  const issuer = new URL(String(options.issuerBaseURL));
  const signal = AbortSignal.timeout(options.timeout);
  const response = await guardTransport(
    () =>
      oauth.discoveryRequest(issuer, {
        signal,
        [oauth.customFetch]: options.fetch,
        [oauth.allowInsecureRequests]: issuer.protocol === "http:",
      }),
    signal,
    options.timeout,
  );
  let server: oauth.AuthorizationServer;
  try {
    server = await oauth.processDiscoveryResponse(issuer, response);
  } catch (err) {
    const message = err instanceof Error ? err.message : "unreadable";
    throw new InvalidTokenResponseError(`invalid discovery document: ${message}`, {
      status: response.status,
    });
  }
  if (typeof server.token_endpoint !== "string" || !URL.canParse(server.token_endpoint)) {
    throw new InvalidTokenResponseError("discovery document has no valid token_endpoint", {
      status: response.status,
    });
  }
  return server;
}
