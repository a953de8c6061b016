/** The API identifier every scenario protects. */
export const AUDIENCE = "https://api.chaos.local";

export const WRITER = { clientId: "chaos-writer", clientSecret: "chaos-writer-secret" } as const;
export const READER = { clientId: "chaos-reader", clientSecret: "chaos-reader-secret" } as const;

/** The secret the tenant declares for one of its clients. */
export function clientSecret(clientId: string): string {
  const client = [WRITER, READER].find((c) => c.clientId === clientId);
  if (!client) throw new Error(`no client ${clientId} in the chaos tenant`);
  return client.clientSecret;
}

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
