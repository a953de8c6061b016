import * as oauth from "oauth4webapi";
import { issuerMatches } from "../issuer-matches.js";
import type { ResolvedClientOptions } from "./client-options.js";
import { DiscoveryIssuerMismatchError, InvalidTokenResponseError } from "./errors.js";
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
  const expected = await discoveredIssuer(issuer, response);
  let server: oauth.AuthorizationServer;
  try {
    server = await oauth.processDiscoveryResponse(expected, response);
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

/**
 * The issuer a discovery response must name, checked with the verifier's rule (exactly the
 * configured one but for a trailing slash) before oauth4webapi's own comparison, which normalizes
 * URLs and tolerates no slash. Throws {@link DiscoveryIssuerMismatchError} for another issuer; a
 * response without a readable `issuer` is left to oauth4webapi to refuse.
 */
async function discoveredIssuer(configured: URL, response: Response): Promise<URL> {
  if (response.status !== 200) return configured;
  const body: unknown = await response
    .clone()
    .json()
    .catch(() => undefined);
  const found = (body as { issuer?: unknown } | null | undefined)?.issuer;
  if (typeof found !== "string") return configured;
  if (!issuerMatches(found, configured.href) || !URL.canParse(found)) {
    throw new DiscoveryIssuerMismatchError(configured.href, found, { status: response.status });
  }
  return new URL(found);
}
