import { grantedScopes } from "@repo/auth";
import { protectedProcedure } from "../trpc.js";

/** Protected: who the verified token says the caller is. */
export const whoami = protectedProcedure.query(({ ctx: { auth } }) => ({
  sub: auth.sub,
  clientId: auth.azp ?? auth.client_id ?? null,
  scopes: grantedScopes(auth),
  permissions: Array.isArray(auth.permissions) ? auth.permissions : [],
  expiresAt: new Date(auth.exp * 1000).toISOString(),
}));
