import { issuerMatches } from "../issuer-matches.js";
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

/** The `issuer` discovery must find. */
export interface ExpectedIssuer {
  /** The configured `issuer` option, else the issuer base URL (as parsed). */
  configured: string;
  /** The `issuer` a previous discovery found; re-discovery must find it again, exactly. */
  discovered: string | undefined;
}

// The metadata's value is reported, and it comes from the network: bounded like any report.
const REPORTED_ISSUER_LENGTH = 200;

/** Discovery metadata naming another issuer than expected; nothing in it was used. */
export class IssuerMismatchError extends FetchJsonError {
  override name = "IssuerMismatchError";
  readonly expected: string;
  /** The metadata's `issuer`, at most its first 200 characters. */
  readonly found: string;

  constructor(reason: "issuer_mismatch" | "issuer_changed", expected: string, found: string) {
    super(reason);
    this.expected = expected;
    this.found = found.slice(0, REPORTED_ISSUER_LENGTH);
  }
}

/**
 * Reads `issuer` and `jwks_uri` from a metadata document, refusing anything else, an `issuer` that
 * does not match the configured one ({@link issuerMatches}), and on re-discovery an `issuer` other
 * than the one found before.
 */
export function readDiscoveryDocument(
  document: unknown,
  policy: InsecureHttpPolicy,
  expected: ExpectedIssuer,
): { issuer: string; jwksUri: URL } {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new FetchJsonError("invalid_document");
  }
  const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>;
  if (typeof issuer !== "string" || issuer === "" || typeof jwksUri !== "string") {
    throw new FetchJsonError("invalid_document");
  }
  // Metadata that names another issuer is a misconfiguration or an attack, not a key move: using
  // it would let whoever serves the metadata decide which tokens are accepted.
  if (!issuerMatches(issuer, expected.configured)) {
    throw new IssuerMismatchError("issuer_mismatch", expected.configured, issuer);
  }
  if (expected.discovered !== undefined && issuer !== expected.discovered) {
    throw new IssuerMismatchError("issuer_changed", expected.discovered, issuer);
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

/** Fetches metadata from the first location that answers other than 404. */
export async function discover(
  urls: readonly URL[],
  policy: InsecureHttpPolicy,
  options: FetchJsonOptions,
  expected: ExpectedIssuer,
  onAttempt: (url: URL, error: FetchJsonError | undefined) => void,
): Promise<{ issuer: string; jwksUri: URL }> {
  let lastError: FetchJsonError | undefined;
  for (const url of urls) {
    try {
      const metadata = readDiscoveryDocument(await fetchJson(url, options), policy, expected);
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
