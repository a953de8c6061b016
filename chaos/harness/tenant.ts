/** The API identifier every scenario protects. */
export const AUDIENCE = "https://api.chaos.local";

export const WRITER = { clientId: "chaos-writer", clientSecret: "chaos-writer-secret" } as const;
export const READER = { clientId: "chaos-reader", clientSecret: "chaos-reader-secret" } as const;

/**
 * A tenant for apps/issuer with a short token lifetime, so refreshes and key retirement happen
 * within a test instead of after a day.
 */
export function chaosTenant(tokenLifetimeSeconds: number) {
  return {
    apis: [
      {
        identifier: AUDIENCE,
        scopes: ["read:items", "write:items"],
        tokenLifetime: tokenLifetimeSeconds,
      },
    ],
    clients: [
      {
        ...WRITER,
        grants: [{ audience: AUDIENCE, scopes: ["read:items", "write:items"] }],
      },
      {
        ...READER,
        grants: [{ audience: AUDIENCE, scopes: ["read:items"] }],
      },
    ],
  };
}
