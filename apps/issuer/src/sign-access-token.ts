import { importJWK, type JWK, type JWTHeaderParameters, type JWTPayload, SignJWT } from "jose";
import type { Tenant } from "./tenant.js";

/**
 * Signs claims with an issuer key outside the token endpoint (see RunningIssuer.signAccessToken).
 * The defaults mirror a token of the tenant's first client for its first API.
 */
export async function signAccessToken(
  key: JWK & { kid: string },
  issuer: string,
  tenant: Tenant,
  claims: JWTPayload = {},
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  const api = tenant.apis[0];
  const client = tenant.clients.find((entry) => entry.grants.length > 0) ?? tenant.clients[0];
  const scopes = client?.grants.find((grant) => grant.audience === api?.identifier)?.scopes ?? [];
  const now = Math.floor(Date.now() / 1000);
  const defaults: JWTPayload = {
    iss: issuer,
    sub: client ? `${client.clientId}@clients` : undefined,
    aud: api?.identifier,
    iat: now,
    exp: now + (api?.tokenLifetime ?? 86_400),
    scope: scopes.join(" ") || undefined,
    gty: "client-credentials",
    azp: client?.clientId,
    permissions: api?.rbac ? scopes : undefined,
  };
  const payload = Object.fromEntries(
    Object.entries({ ...defaults, ...claims }).filter(([, value]) => value !== undefined),
  );
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid, ...header })
    .sign(await importJWK(key, "RS256"));
}
