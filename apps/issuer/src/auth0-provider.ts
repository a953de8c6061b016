import { randomBytes } from "node:crypto";
import type { Middleware } from "koa";
import {
  type AdapterFactory,
  type ClientMetadata,
  type KoaContextWithOIDC,
  Provider,
} from "oidc-provider";
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
    ...(client.dpopBoundAccessTokens ? { dpop_bound_access_tokens: true } : {}),
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
  }));
}

/** Publishing order: the signing key first, then the next one, then those being retired. */
const publishOrder = { current: 0, next: 1, previous: 2 } as const;

/**
 * Auth0's answers where oidc-provider's differ: a grant type the client may not use is a 403
 * `unauthorized_client`, and a path that is not an endpoint gets a JSON 404 (not plain text).
 */
const auth0Answers: Middleware = async (ctx, next) => {
  await next();
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  const { oidc } = ctx as unknown as Partial<KoaContextWithOIDC>;
  if (
    oidc?.route === "token" &&
    body?.error === "invalid_request" &&
    body.error_description === "requested grant type is not allowed for this client"
  ) {
    ctx.status = 403;
    ctx.body = {
      error: "unauthorized_client",
      error_description: `Grant type '${oidc.params?.grant_type}' not allowed for the client.`,
    };
  } else if (ctx.status === 404 && ctx.body === undefined) {
    ctx.status = 404;
    ctx.body = {
      error: "not_found",
      error_description: `${ctx.method} ${ctx.path} is not an endpoint`,
    };
  }
};

/** DPoP settings that outlive one provider instance. */
export interface DpopSettings {
  /** 32 bytes that sign server nonces; kept across rebuilds so a nonce stays good after one. */
  readonly nonceSecret: Buffer;
  /** Every proof must carry a server nonce (RFC 9449 §8): the first one is answered `use_dpop_nonce`. */
  readonly requireNonce: boolean;
}

/**
 * An oidc-provider instance that answers like an Auth0 tenant for machine-to-machine clients.
 * It is immutable: a change of signing keys builds a new one (see issuer-server.ts).
 */
export function createAuth0Provider(
  issuer: string,
  tenant: Tenant,
  keySet: KeySet,
  adapter: AdapterFactory,
  dpop: DpopSettings,
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
    // Every client here is a machine: errors are JSON even for a caller that prefers HTML.
    renderError: (ctx, out) => {
      ctx.type = "json";
      ctx.body = out;
    },
    features: {
      clientCredentials: { enabled: true },
      resourceIndicators: { enabled: true, getResourceServerInfo },
      devInteractions: { enabled: false },
      // A token request with a valid proof gets a token bound to its key; the server offers a
      // nonce in every answer and, when asked to, refuses proofs without one.
      dPoP: {
        enabled: true,
        nonceSecret: dpop.nonceSecret,
        requireNonce: () => dpop.requireNonce,
      },
      userinfo: { enabled: false },
    },
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 86_400,
    },
    formats: { customizers: { jwt: createAccessTokenCustomizer(index.apis) } },
  });
  provider.use(auth0Answers);
  provider.registerGrantType(
    "client_credentials",
    createClientCredentialsGrant(provider, index, getResourceServerInfo),
    clientCredentialsParameters,
  );
  return provider;
}
