import type {
  AccessToken,
  ClientCredentials,
  JWTStructured,
  KoaContextWithOIDC,
} from "oidc-provider";
import type { TenantApi } from "./tenant.js";

/**
 * Reshapes oidc-provider's RFC 9068 access token into the one Auth0 issues to a machine-to-machine
 * client: `sub` is `<client_id>@clients`, `gty` is `client-credentials`, `permissions` lists the
 * granted scopes when the API has RBAC on. The Auth0 profile (`typ: JWT`) names the client `azp`
 * and has no `jti`; the RFC 9068 profile (`typ: at+jwt`) keeps `client_id` and `jti`. A DPoP-bound
 * token keeps its `cnf.jkt` (RFC 9449 §6.1), as Auth0's do.
 */
export function createAccessTokenCustomizer(apis: ReadonlyMap<string, TenantApi>) {
  return function customizeAccessToken(
    _ctx: KoaContextWithOIDC,
    token: AccessToken | ClientCredentials,
    parts: JWTStructured,
  ): void {
    const { payload } = parts;
    const api = typeof payload.aud === "string" ? apis.get(payload.aud) : undefined;
    if (!api) return;
    const clientId = token.clientId;
    const scopes = token.scope ? token.scope.split(" ") : [];
    const rfc9068 = api.tokenProfile === "rfc9068";
    parts.payload = {
      iss: payload.iss,
      sub: `${clientId}@clients`,
      aud: payload.aud,
      iat: payload.iat,
      exp: payload.exp,
      ...(rfc9068 ? { jti: payload.jti } : {}),
      ...(scopes.length > 0 ? { scope: scopes.join(" ") } : {}),
      gty: "client-credentials",
      ...(rfc9068 ? { client_id: clientId } : { azp: clientId }),
      ...(api.rbac ? { permissions: scopes } : {}),
      ...(payload.cnf ? { cnf: payload.cnf } : {}),
    };
    if (!rfc9068) parts.header = { ...parts.header, typ: "JWT" };
  };
}
