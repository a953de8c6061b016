import { readFileSync } from "node:fs";
import { z } from "zod";

// RFC 6749 scope-token: printable ASCII without space, double quote or backslash.
const scopeToken = z
  .string()
  .regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "must be a scope token (printable ASCII, no spaces)");

const apiSchema = z.strictObject({
  /** The API's identifier: the `audience` a client asks for and the token's `aud`. */
  identifier: z.string().min(1),
  name: z.string().optional(),
  scopes: z.array(scopeToken).default([]),
  /** Access token lifetime in seconds; Auth0's default is 86400 and its maximum 30 days. */
  tokenLifetime: z.number().int().positive().max(2_592_000).default(86_400),
  /** Auth0's "Enable RBAC" + "Add Permissions in the Access Token": adds `permissions`. */
  rbac: z.boolean().default(false),
  /** `auth0`: `typ: JWT`, `azp`. `rfc9068`: `typ: at+jwt`, `client_id`, `jti` (RFC 9068). */
  tokenProfile: z.enum(["auth0", "rfc9068"]).default("auth0"),
});

const publicJwk = z
  .looseObject({ kty: z.string() })
  .refine((jwk) => !("d" in jwk), "must be a public key (it has a private part `d`)");

const clientSchema = z.strictObject({
  clientId: z.string().regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"),
  name: z.string().optional(),
  clientSecret: z.string().min(1).optional(),
  /** Public keys for `private_key_jwt` client authentication. */
  jwks: z.strictObject({ keys: z.array(publicJwk).min(1) }).optional(),
  authMethod: z.enum(["client_secret_post", "client_secret_basic", "private_key_jwt"]).optional(),
  /** Its tokens must be DPoP-bound: a token request without a DPoP proof is refused (RFC 9449). */
  dpopBoundAccessTokens: z.boolean().default(false),
  /** Auth0's client grants: which APIs this client may get tokens for, with which scopes. */
  grants: z
    .array(z.strictObject({ audience: z.string().min(1), scopes: z.array(scopeToken).default([]) }))
    .default([]),
});

const tenantSchema = z
  .strictObject({
    $schema: z.string().optional(),
    $comment: z.string().optional(),
    apis: z.array(apiSchema),
    clients: z.array(clientSchema),
  })
  .superRefine((tenant, ctx) => {
    const apis = new Map<string, Set<string>>();
    tenant.apis.forEach((api, i) => {
      if (apis.has(api.identifier)) {
        ctx.addIssue({
          code: "custom",
          path: ["apis", i, "identifier"],
          message: `duplicate API identifier "${api.identifier}"`,
        });
      }
      apis.set(api.identifier, new Set(api.scopes));
    });
    const clientIds = new Set<string>();
    tenant.clients.forEach((client, i) => {
      if (clientIds.has(client.clientId)) {
        ctx.addIssue({
          code: "custom",
          path: ["clients", i, "clientId"],
          message: `duplicate client "${client.clientId}"`,
        });
      }
      clientIds.add(client.clientId);
      const method = client.authMethod ?? defaultAuthMethod(client);
      if (method === "private_key_jwt" && !client.jwks) {
        ctx.addIssue({
          code: "custom",
          path: ["clients", i, "jwks"],
          message: "is required for private_key_jwt",
        });
      }
      if (method !== "private_key_jwt" && !client.clientSecret) {
        ctx.addIssue({
          code: "custom",
          path: ["clients", i, "clientSecret"],
          message: `is required for ${method}`,
        });
      }
      client.grants.forEach((grant, g) => {
        const scopes = apis.get(grant.audience);
        if (!scopes) {
          ctx.addIssue({
            code: "custom",
            path: ["clients", i, "grants", g, "audience"],
            message: `"${grant.audience}" is not the identifier of an API in this tenant`,
          });
          return;
        }
        grant.scopes.forEach((scope, s) => {
          if (!scopes.has(scope)) {
            ctx.addIssue({
              code: "custom",
              path: ["clients", i, "grants", g, "scopes", s],
              message: `"${scope}" is not a scope of ${grant.audience}`,
            });
          }
        });
      });
    });
  });

/** A tenant as written in a tenant file (defaults not yet applied). */
export type TenantConfig = z.input<typeof tenantSchema>;
/** A validated tenant with every default applied. */
export type Tenant = z.output<typeof tenantSchema>;
export type TenantApi = Tenant["apis"][number];
export type TenantClient = Tenant["clients"][number];
export type ClientAuthMethod = NonNullable<TenantClient["authMethod"]>;

function defaultAuthMethod(client: { clientSecret?: string | undefined; jwks?: unknown }) {
  return client.jwks && !client.clientSecret ? "private_key_jwt" : "client_secret_post";
}

/** The authentication method a client uses: explicit, else derived from its credentials. */
export function clientAuthMethod(client: TenantClient): ClientAuthMethod {
  return client.authMethod ?? defaultAuthMethod(client);
}

/** A tenant file or object that does not match the schema; `issues` name each bad field. */
export class TenantError extends Error {
  override name = "TenantError";
  readonly issues: readonly string[];

  constructor(source: string, issues: readonly string[], options?: ErrorOptions) {
    super(`invalid tenant ${source}:\n  ${issues.join("\n  ")}`, options);
    this.issues = issues;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === "number") return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, "");
}

/**
 * Validates a tenant and applies defaults.
 * @example parseTenant({ apis: [...], clients: [...] }, "in test")
 */
export function parseTenant(input: unknown, source = "configuration"): Tenant {
  const result = tenantSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map(
      (issue) => `${formatPath(issue.path) || "(root)"}: ${issue.message}`,
    );
    throw new TenantError(source, issues, { cause: result.error });
  }
  return result.data;
}

/** Reads and validates a JSON tenant file. */
export function loadTenant(path: string): Tenant {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new TenantError(path, [`cannot be read (${(cause as NodeJS.ErrnoException).code})`], {
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new TenantError(path, [`is not valid JSON (${(cause as Error).message})`], { cause });
  }
  return parseTenant(json, path);
}
