import { InsufficientScopeError } from "../errors.js";

/** The claims {@link grantedScopes} reads. */
export interface ScopeClaims {
  scope?: unknown;
  scp?: unknown;
  permissions?: unknown;
  /** Set by `authenticateRequest` when DPoP was used: the 403 challenge is then in that scheme. */
  dpop?: unknown;
}

/**
 * Which claims grant scopes: `scope` (default) reads `scope` and `scp`; `permissions` reads only
 * Auth0's RBAC `permissions` array (set "Add Permissions in the Access Token" on the API);
 * `either` counts both. APIs that enforce RBAC should use `permissions`: with RBAC on, Auth0 lists
 * what the role grants there, whatever the client asked for in `scope`.
 */
export type ScopeSource = "scope" | "permissions" | "either";

function addScopes(into: Set<string>, value: unknown): void {
  if (typeof value === "string") {
    for (const scope of value.split(" ")) if (scope !== "") into.add(scope);
  } else if (Array.isArray(value)) {
    for (const scope of value) if (typeof scope === "string" && scope !== "") into.add(scope);
  }
}

/**
 * The scopes a token grants: by default its space-separated `scope` claim (RFC 8693 / RFC 9068,
 * Auth0), plus an `scp` claim when present (Okta, Azure AD); with `from` set, Auth0's RBAC
 * `permissions` instead or as well (see {@link ScopeSource}).
 *
 * @example
 * ```ts
 * grantedScopes({ scope: "read:items write:items" }); // ["read:items", "write:items"]
 * grantedScopes({ scope: "", permissions: ["read:items"] }, "permissions"); // ["read:items"]
 * ```
 */
export function grantedScopes(claims: ScopeClaims, from: ScopeSource = "scope"): string[] {
  const scopes = new Set<string>();
  if (from !== "permissions") {
    addScopes(scopes, claims.scope);
    addScopes(scopes, claims.scp);
  }
  if (from !== "scope" && Array.isArray(claims.permissions)) {
    addScopes(scopes, claims.permissions);
  }
  return [...scopes];
}

/** Options of {@link requireScopes}. */
export interface RequireScopesOptions {
  /** `all` (default): every scope is needed; `any`: one of them is enough. */
  match?: "all" | "any";
  /** Which claims grant scopes; default `scope` (see {@link ScopeSource}). */
  from?: ScopeSource;
}

/**
 * Throws {@link InsufficientScopeError} (403 `insufficient_scope`) unless the claims grant the
 * scopes. An empty `scopes` list always passes.
 *
 * @example
 * ```ts
 * const claims = await verifier.verify(token);
 * requireScopes(claims, ["write:items"]);
 * requireScopes(claims, ["read:items", "admin"], { match: "any" });
 * requireScopes(claims, ["write:items"], { from: "permissions" }); // Auth0 RBAC
 * ```
 */
export function requireScopes(
  claims: ScopeClaims,
  scopes: readonly string[],
  options: RequireScopesOptions = {},
): void {
  const match = options.match ?? "all";
  if (scopes.length === 0) return;
  const from = options.from ?? "scope";
  if (from !== "scope" && from !== "permissions" && from !== "either") {
    throw new TypeError('requireScopes: "from" must be "scope", "permissions" or "either"');
  }
  const granted = new Set(grantedScopes(claims, from));
  const missing = scopes.filter((scope) => !granted.has(scope));
  const satisfied = match === "all" ? missing.length === 0 : missing.length < scopes.length;
  if (!satisfied) {
    throw new InsufficientScopeError(scopes, missing, match, {
      scheme: claims.dpop === undefined ? "Bearer" : "DPoP",
    });
  }
}
