import {
  type AccessTokenClaims,
  grantedScopes,
  InvalidTokenError,
  type ScopeSource,
} from "@repo/auth";
import { toTRPCError } from "../to-trpc-error.js";
import { protectedProcedure } from "../trpc.js";

/** What `whoami` answers. */
export interface WhoamiAnswer {
  sub: string;
  clientId: string | null;
  scopes: string[];
  permissions: string[];
  expiresAt: string;
}

// Verified claims are frozen and, for a token the verifier's cache holds, the same object on every
// request: the answer derived from the last claims object is kept, so a caller reusing its token
// gets it without a rebuild. One slot, not a WeakMap of every claims object the cache holds: with
// many distinct tokens, such a map keeps an answer per token alive and makes every garbage
// collection trace its entries, which costs more than the rebuild it saves. The answer is frozen
// like the claims (typed mutable, as `permissions` in the claims is), so no caller can change what
// the next one gets.
let last:
  | { auth: AccessTokenClaims; from: ScopeSource | undefined; answer: WhoamiAnswer }
  | undefined;

function answerFor(auth: AccessTokenClaims, from: ScopeSource | undefined): WhoamiAnswer {
  if (last !== undefined && last.auth === auth && last.from === from) return last.answer;
  const answer: WhoamiAnswer = Object.freeze({
    sub: auth.sub,
    clientId: auth.azp ?? auth.client_id ?? null,
    // The scopes requireScopes counts, so the caller sees what it may actually do.
    scopes: Object.freeze(grantedScopes(auth, from)) as string[],
    permissions: Array.isArray(auth.permissions) ? auth.permissions : [],
    expiresAt: expiryOf(auth.exp),
  });
  last = { auth, from, answer };
  return answer;
}

/**
 * `exp` as an ISO date. A signed `exp` past what a date can hold (year 275760) is refused as an
 * invalid token, not left to fail as a 500.
 */
function expiryOf(exp: number): string {
  const expiry = new Date(exp * 1000);
  if (Number.isNaN(expiry.getTime())) {
    throw toTRPCError(new InvalidTokenError("claim_value", { claim: "exp" }));
  }
  return expiry.toISOString();
}

/** Protected: who the verified token says the caller is. */
export const whoami = protectedProcedure.query(({ ctx: { auth, services } }) =>
  answerFor(auth, services.scopesFrom),
);
