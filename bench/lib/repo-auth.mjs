/**
 * `@repo/auth` as built in `dist/`. The runner builds every workspace first; an entry point that
 * does not exist yet is reported as missing in the results rather than crashing the run.
 */
export const auth = await import("@repo/auth");
/** `@repo/auth/redis`: the Redis token store (Node and Bun only). */
export const authRedis = await import("@repo/auth/redis").catch(() => ({}));

export const hasVerifier = typeof auth.createAccessTokenVerifier === "function";
export const hasTokenClient = typeof auth.createClientCredentialsClient === "function";
export const hasRedisStore = typeof authRedis.redisStore === "function";
