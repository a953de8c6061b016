import { InsufficientScopeError } from "../errors.js";

/** The claims {@link grantedScopes} reads. */
export interface ScopeClaims {
  scope?: unknown;
  scp?: unknown;
}

function addScopes(into: Set<string>, value: unknown): void {
  if (typeof value === "string") {
    for (const scope of value.split(" ")) if (scope !== "") into.add(scope);
  } else if (Array.isArray(value)) {
    for (const scope of value) if (typeof scope === "string" && scope !== "") into.add(scope);
  }
}

/**
 * The scopes a token grants: its space-separated `scope` claim (RFC 8693 / RFC 9068, Auth0), plus
 * an `scp` claim when present (Okta, Azure AD). Auth0's `permissions` claim is not read here; check
 * it explicitly if your API relies on RBAC permissions.
 *
 * @example
 * ```ts
 * grantedScopes({ scope: "read:items write:items" }); // ["read:items", "write:items"]
 * ```
 */
export function grantedScopes(claims: ScopeClaims): string[] {
  const scopes = new Set<string>();
  addScopes(scopes, claims.scope);
  addScopes(scopes, claims.scp);
  return [...scopes];
}

/** Options of {@link requireScopes}. */
export interface RequireScopesOptions {
  /** `all` (default): every scope is needed; `any`: one of them is enough. */
  match?: "all" | "any";
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
 * ```
 */
export function requireScopes(
  claims: ScopeClaims,
  scopes: readonly string[],
  options: RequireScopesOptions = {},
): void {
  const match = options.match ?? "all";
  if (scopes.length === 0) return;
  const granted = new Set(grantedScopes(claims));
  const missing = scopes.filter((scope) => !granted.has(scope));
  const satisfied = match === "all" ? missing.length === 0 : missing.length < scopes.length;
  if (!satisfied) throw new InsufficientScopeError(scopes, missing, match);
}
