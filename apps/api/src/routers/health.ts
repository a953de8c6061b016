import { publicProcedure } from "../trpc.js";

const STATUS_BY_STATE = { fresh: "ok", stale: "degraded", down: "unavailable" } as const;

/**
 * Public: whether this instance can verify tokens. `stale` keys still verify (the JWKS endpoint is
 * failing but the last good keys are within their staleness bound); `down` answers 503 to
 * protected calls.
 */
export const health = publicProcedure.query(({ ctx }) => {
  const { state, keys, lastRefreshAt } = ctx.services.verifier.health();
  return {
    status: STATUS_BY_STATE[state],
    jwks: {
      state,
      keys,
      lastRefreshAt: lastRefreshAt === null ? null : new Date(lastRefreshAt).toISOString(),
    },
  };
});
