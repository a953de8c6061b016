import { FetchJsonError, type FetchJsonOptions, fetchJson } from "./fetch-json.js";
import { assertFetchableUrl } from "./resolve-options.js";
import type { InsecureHttpPolicy } from "./types.js";

/** Where keys come from and which `iss` to expect. */
export interface KeySource {
  issuer: string;
  jwksUri: URL;
}

/**
 * The metadata locations tried, in order: OpenID Connect Discovery (`<base>/.well-known/openid-configuration`,
 * what Auth0 serves), then RFC 8414 (`/.well-known/oauth-authorization-server` inserted before the path).
 */
export function discoveryUrls(issuerBaseURL: URL): URL[] {
  const base = new URL(issuerBaseURL);
  base.search = "";
  base.hash = "";
  const path = base.pathname.replace(/\/+$/, "");
  return [
    new URL(`${base.origin}${path}/.well-known/openid-configuration`),
    new URL(`${base.origin}/.well-known/oauth-authorization-server${path}`),
  ];
}

/**
 * Reads `issuer` and `jwks_uri` from a metadata document, refusing anything else, and refusing an
 * `issuer` other than `expectedIssuer` when one is known.
 */
export function readDiscoveryDocument(
  document: unknown,
  policy: InsecureHttpPolicy,
  expectedIssuer?: string,
): { issuer: string; jwksUri: URL } {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new FetchJsonError("invalid_document");
  }
  const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>;
  if (typeof issuer !== "string" || issuer === "" || typeof jwksUri !== "string") {
    throw new FetchJsonError("invalid_document");
  }
  // Metadata that names another issuer is a misconfiguration or an attack, not a key move: following
  // it would let whoever serves the metadata decide which tokens are accepted.
  if (expectedIssuer !== undefined && issuer !== expectedIssuer) {
    throw new FetchJsonError("issuer_changed");
  }
  let url: URL;
  try {
    url = new URL(jwksUri);
    assertFetchableUrl("jwks_uri", url, policy);
  } catch (cause) {
    throw new FetchJsonError("invalid_document", undefined, { cause });
  }
  return { issuer, jwksUri: url };
}

/**
 * Fetches metadata from the first location that answers other than 404. `expectedIssuer`: the
 * issuer discovered before, which re-discovery must find again.
 */
export async function discover(
  urls: readonly URL[],
  policy: InsecureHttpPolicy,
  options: FetchJsonOptions,
  expectedIssuer: string | undefined,
  onAttempt: (url: URL, error: FetchJsonError | undefined) => void,
): Promise<{ issuer: string; jwksUri: URL }> {
  let lastError: FetchJsonError | undefined;
  for (const url of urls) {
    try {
      const metadata = readDiscoveryDocument(await fetchJson(url, options), policy, expectedIssuer);
      onAttempt(url, undefined);
      return metadata;
    } catch (error) {
      lastError =
        error instanceof FetchJsonError
          ? error
          : new FetchJsonError("network", undefined, { cause: error });
      onAttempt(url, lastError);
      if (lastError.reason !== "status" || lastError.status !== 404) throw lastError;
    }
  }
  throw lastError ?? new FetchJsonError("invalid_document");
}
