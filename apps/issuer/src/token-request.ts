import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { clientAuthMethod, type Tenant, type TenantClient } from "./tenant.js";

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

const TIMEOUT_MS = 10_000;

/** POSTs a form over http or https (trusting `ca` when given) and reads a JSON answer. */
function postForm(url: URL, form: URLSearchParams, ca?: string) {
  const body = Buffer.from(form.toString());
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const request = send(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "content-length": body.length,
          accept: "application/json",
        },
        timeout: TIMEOUT_MS,
        ...(ca ? { ca } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            // A non-JSON answer is reported by its status below.
          }
          resolve({ status: response.statusCode ?? 0, json });
        });
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer from ${url.origin}`)));
    request.on("error", reject);
    request.end(body);
  });
}

/** A tenant client that authenticates with a secret, and that secret. */
export function secretClient(
  tenant: Tenant,
  clientId: string,
): { client: TenantClient; clientSecret: string } {
  const client = tenant.clients.find((candidate) => candidate.clientId === clientId);
  if (!client) throw new Error(`the tenant has no client "${clientId}"`);
  if (!client.clientSecret || clientAuthMethod(client) === "private_key_jwt") {
    throw new Error(`client "${clientId}" has no client secret (it uses private_key_jwt)`);
  }
  return { client, clientSecret: client.clientSecret };
}

/** `audience` (default: the first API the client is granted) and `scope`, as form fields. */
export function grantParameters(
  client: TenantClient,
  { audience, scope }: Pick<TokenRequest, "audience" | "scope">,
): Record<string, string> {
  const target = audience ?? client.grants[0]?.audience;
  return { ...(target ? { audience: target } : {}), ...(scope ? { scope } : {}) };
}

/**
 * Asks a running issuer for an access token as a tenant client would (client_secret_post), using
 * the secret the tenant declares for that client. `ca` is the certificate to trust in HTTPS mode.
 */
export async function requestToken(
  tokenEndpoint: string,
  tenant: Tenant,
  { clientId = "dev-writer", audience, scope }: TokenRequest = {},
  ca?: string,
): Promise<TokenResponse> {
  const { client, clientSecret } = secretClient(tenant, clientId);
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: client.clientId,
    client_secret: clientSecret,
    ...grantParameters(client, { audience, scope }),
  });

  const { status, json } = await postForm(new URL(tokenEndpoint), form, ca);
  if (status !== 200 || typeof json.access_token !== "string") {
    throw new TokenRequestError(
      status,
      typeof json.error === "string" ? json.error : "invalid_response",
      typeof json.error_description === "string" ? json.error_description : undefined,
    );
  }
  return json as unknown as TokenResponse;
}
