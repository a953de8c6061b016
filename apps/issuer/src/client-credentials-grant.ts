import type {
  Client,
  KoaContextWithOIDC,
  Provider,
  ResourceServer,
  TokenEndpointGrantContext,
} from "oidc-provider";
import { errors } from "oidc-provider";
import { AccessDenied } from "./auth0-errors.js";
import { dpopBinding } from "./dpop-binding.js";
import type { Tenant, TenantApi } from "./tenant.js";

export interface TenantIndex {
  apis: ReadonlyMap<string, TenantApi>;
  /** client id → API identifier → granted scopes */
  grants: ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>;
}

export function indexTenant(tenant: Tenant): TenantIndex {
  return {
    apis: new Map(tenant.apis.map((api) => [api.identifier, api])),
    grants: new Map(
      tenant.clients.map((client) => [
        client.clientId,
        new Map(client.grants.map((grant) => [grant.audience, new Set(grant.scopes)])),
      ]),
    ),
  };
}

/**
 * `features.resourceIndicators.getResourceServerInfo`: the API behind an audience, if the client
 * holds a grant for it, with Auth0's 403 `access_denied` answers otherwise.
 */
export function createResourceServerResolver(tenant: TenantIndex, signingKid: () => string) {
  return function getResourceServerInfo(
    _ctx: KoaContextWithOIDC,
    identifier: string,
    client: Client,
  ): ResourceServer {
    const api = tenant.apis.get(identifier);
    if (!api) throw new AccessDenied(`Service not found: ${identifier}`);
    if (!tenant.grants.get(client.clientId)?.has(identifier)) {
      throw new AccessDenied(
        `Client is not authorized to access "${identifier}". You need to create a "client-grant" associated to this API.`,
      );
    }
    return {
      scope: api.scopes.join(" "),
      audience: api.identifier,
      accessTokenTTL: api.tokenLifetime,
      accessTokenFormat: "jwt",
      jwt: { sign: { alg: "RS256", kid: signingKid() } },
    };
  };
}

type GrantParams = { audience?: string; resource?: string | string[]; scope?: string };

/** The parameters the token endpoint keeps for this grant (others are dropped before it runs). */
export const clientCredentialsParameters = ["audience", "resource", "scope"] as const;

/**
 * Auth0's client-credentials grant: the API comes from `audience` (Auth0) or `resource`
 * (RFC 8707); without `scope` the token carries every scope granted to the client for that API,
 * with `scope` it carries exactly those, and a scope not granted is refused (403), not dropped.
 * A request with a valid DPoP proof gets a token bound to the proof's key (RFC 9449).
 */
export function createClientCredentialsGrant(
  provider: Provider,
  tenant: TenantIndex,
  getResourceServerInfo: ReturnType<typeof createResourceServerResolver>,
) {
  return async function clientCredentialsGrant(
    ctx: TokenEndpointGrantContext<GrantParams>,
  ): Promise<void> {
    const { client, params } = ctx.oidc;
    const proof = await dpopBinding.readProof(provider, ctx);
    const { audience, resource } = params;
    if (Array.isArray(resource)) {
      throw new errors.InvalidTarget(
        "only a single resource indicator value is supported for this grant type",
      );
    }
    if (audience !== undefined && resource !== undefined && audience !== resource) {
      throw new errors.InvalidRequest("audience and resource must name the same API");
    }
    const identifier = audience ?? resource;
    if (!identifier) {
      throw new AccessDenied(
        "No audience parameter was provided, and no default audience has been configured",
      );
    }
    const resourceServer = getResourceServerInfo(ctx, identifier, client);
    const granted = tenant.grants.get(client.clientId)?.get(identifier) ?? new Set<string>();
    const requested = params.scope?.split(" ").filter(Boolean) ?? [];
    const missing = requested.filter((scope) => !granted.has(scope));
    if (missing.length > 0) {
      throw new AccessDenied(`Client has not been granted scopes: ${missing.join(" ")}`);
    }
    const scopes = requested.length > 0 ? [...new Set(requested)] : [...granted];

    const token = new provider.ClientCredentials({
      client,
      scope: scopes.join(" ") || undefined,
    });
    token.resourceServer = new provider.ResourceServer(identifier, resourceServer);
    await dpopBinding.bind(provider, ctx, proof, token);
    ctx.oidc.entity("ClientCredentials", token);
    const accessToken = await token.save();

    ctx.body = {
      access_token: accessToken,
      ...(token.scope ? { scope: token.scope } : {}),
      expires_in: token.expiration,
      token_type: token.tokenType,
    };
  };
}
