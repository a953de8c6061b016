import { randomBytes } from "node:crypto";
import { type AdapterFactory, type ClientMetadata, Provider } from "oidc-provider";
import { createAccessTokenCustomizer } from "./access-token-claims.js";
import {
  clientCredentialsParameters,
  createClientCredentialsGrant,
  createResourceServerResolver,
  indexTenant,
} from "./client-credentials-grant.js";
import { currentKey, type KeySet } from "./signing-keys.js";
import { clientAuthMethod, type Tenant } from "./tenant.js";

export const routes = {
  token: "/oauth/token",
  jwks: "/.well-known/jwks.json",
} as const;

function clientMetadata(tenant: Tenant): ClientMetadata[] {
  return tenant.clients.map((client) => ({
    client_id: client.clientId,
    ...(client.name ? { client_name: client.name } : {}),
    ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
    ...(client.jwks ? { jwks: client.jwks as ClientMetadata["jwks"] } : {}),
    token_endpoint_auth_method: clientAuthMethod(client),
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
  }));
}

/** Publishing order: the signing key first, then the next one, then those being retired. */
const publishOrder = { current: 0, next: 1, previous: 2 } as const;

/**
 * An oidc-provider instance that answers like an Auth0 tenant for machine-to-machine clients.
 * It is immutable: a change of signing keys builds a new one (see issuer-server.ts).
 */
export function createAuth0Provider(
  issuer: string,
  tenant: Tenant,
  keySet: KeySet,
  adapter: AdapterFactory,
): Provider {
  const index = indexTenant(tenant);
  const signingKid = currentKey(keySet).jwk.kid;
  const getResourceServerInfo = createResourceServerResolver(index, () => signingKid);
  const keys = [...keySet.keys].sort((a, b) => publishOrder[a.status] - publishOrder[b.status]);

  const provider = new Provider(issuer, {
    adapter,
    clients: clientMetadata(tenant),
    jwks: { keys: keys.map((key) => key.jwk) },
    routes,
    clientAuthMethods: ["client_secret_post", "client_secret_basic", "private_key_jwt"],
    // Cookies only matter to the browser flows, which no client here may use.
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    findAccount: () => undefined,
    features: {
      clientCredentials: { enabled: true },
      resourceIndicators: { enabled: true, getResourceServerInfo },
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      userinfo: { enabled: false },
    },
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 86_400,
    },
    formats: { customizers: { jwt: createAccessTokenCustomizer(index.apis) } },
  });
  provider.registerGrantType(
    "client_credentials",
    createClientCredentialsGrant(provider, index, getResourceServerInfo),
    clientCredentialsParameters,
  );
  return provider;
}
