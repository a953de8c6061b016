import { clientAuthMethod, type Tenant } from "./tenant.js";

export interface TokenRequest {
  /** A client of the tenant with a secret; default `dev-writer`. */
  clientId?: string;
  /** Default: the first API the client is granted. */
  audience?: string;
  /** Space-separated; default every scope the client was granted for the audience. */
  scope?: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

/** An error answer of the token endpoint (`error` is the OAuth error code). */
export class TokenRequestError extends Error {
  override name = "TokenRequestError";

  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string | undefined,
  ) {
    super(`token request refused: ${status} ${error}${description ? ` (${description})` : ""}`);
  }
}

/**
 * Asks a running issuer for an access token as a tenant client would (client_secret_post), using
 * the secret the tenant declares for that client.
 */
export async function requestToken(
  tokenEndpoint: string,
  tenant: Tenant,
  { clientId = "dev-writer", audience, scope }: TokenRequest = {},
  fetchImpl: typeof fetch = fetch,
): Promise<TokenResponse> {
  const client = tenant.clients.find((candidate) => candidate.clientId === clientId);
  if (!client) throw new Error(`the tenant has no client "${clientId}"`);
  if (!client.clientSecret || clientAuthMethod(client) === "private_key_jwt") {
    throw new Error(`client "${clientId}" has no client secret (it uses private_key_jwt)`);
  }
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: client.clientId,
    client_secret: client.clientSecret,
  });
  const target = audience ?? client.grants[0]?.audience;
  if (target) form.set("audience", target);
  if (scope) form.set("scope", scope);

  const response = await fetchImpl(tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: form,
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof body.access_token !== "string") {
    throw new TokenRequestError(
      response.status,
      typeof body.error === "string" ? body.error : "invalid_response",
      typeof body.error_description === "string" ? body.error_description : undefined,
    );
  }
  return body as unknown as TokenResponse;
}
