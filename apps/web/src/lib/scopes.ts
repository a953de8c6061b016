/**
 * The scope each API procedure needs (apps/api's `requireScopes`). Shown on the page so a person can
 * tell why an action is refused before trying it.
 */
export const requiredScopes = {
  listItems: "read:items",
  createItem: "write:items",
} as const;

/** Scopes from an OAuth `scope` string or a list, deduplicated, in a stable order. */
export function scopeList(scope: string | readonly string[] | undefined): string[] {
  const items = typeof scope === "string" ? scope.split(" ") : (scope ?? []);
  return [...new Set(items.map((item) => item.trim()).filter(Boolean))].sort();
}
