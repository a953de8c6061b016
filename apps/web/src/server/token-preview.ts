import "server-only";

/** What the status page may show of an access token: header fields and claims, never the token. */
export interface TokenPreview {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
}

const shownHeaderFields = ["alg", "typ", "kid"] as const;

function decodeSegment(segment: string | undefined): Record<string, unknown> | undefined {
  if (!segment) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decodes, without verifying, a JWT access token this server obtained itself, for display. Returns
 * `undefined` for opaque (non-JWT) tokens. The signature segment is never read.
 */
export function previewToken(accessToken: string): TokenPreview | undefined {
  const [headerSegment, payloadSegment] = accessToken.split(".");
  const header = decodeSegment(headerSegment);
  const claims = decodeSegment(payloadSegment);
  if (!header || !claims) return undefined;
  const shownHeader = Object.fromEntries(
    shownHeaderFields.filter((name) => name in header).map((name) => [name, header[name]]),
  );
  return { header: shownHeader, claims };
}
