import type { Redis } from "ioredis";
import { createClient } from "../token-client/redis-store.js";
import { settleWithin } from "../token-client/settle-within.js";
import type { DpopReplayStore } from "./dpop-replay-store.js";

/** Options of {@link dpopReplayStore}. */
export interface DpopReplayStoreOptions {
  /** `redis://…` URL; the store creates, connects and closes its own client. */
  url?: string | undefined;
  /** An ioredis client you own; the store never closes it. */
  client?: Redis | undefined;
  /** Prefix of every key. Default `"auth:dpop:jti:"`. */
  prefix?: string | undefined;
  /** Limit of one Redis command, ms; past it the proof is refused with a 503. Default 1 000. */
  operationTimeout?: number | undefined;
}

/** A {@link DpopReplayStore} on Redis, with a way to close the connection it opened. */
export interface RedisDpopReplayStore extends DpopReplayStore {
  /** Closes the connection the store opened (never a `client` passed in). */
  close(): Promise<void>;
}

/**
 * A DPoP replay store in Redis, shared by every instance of a fleet: each proof's `jti` is claimed
 * with one `SET key 1 NX PX ttl`, atomic in Redis, so of any number of requests carrying one proof
 * — on one instance or many — exactly one is accepted.
 *
 * It fails closed: while Redis does not answer, claims reject and the verifier answers 503
 * (`ReplayStoreUnavailableError`) rather than accept a proof it cannot know to be unused. Keys are
 * hashes of the key thumbprint and `jti`, never the proof.
 *
 * @example
 * ```ts
 * const verifier = createAccessTokenVerifier({
 *   ...,
 *   dpop: { replayStore: dpopReplayStore({ url: process.env.REDIS_URL }) },
 * });
 * ```
 */
export function dpopReplayStore(options: DpopReplayStoreOptions): RedisDpopReplayStore {
  if (options.url === undefined && options.client === undefined) {
    throw new TypeError("dpopReplayStore needs a url or a client");
  }
  const prefix = options.prefix ?? "auth:dpop:jti:";
  const timeout = options.operationTimeout ?? 1_000;
  let client: Promise<Redis> | undefined;

  return {
    async claim(key, ttlMs) {
      client ??= createClient(options, timeout);
      const redis = await client;
      if (redis.status !== "ready") throw new Error(`redis connection is ${redis.status}`);
      const ms = Math.max(1, Math.ceil(ttlMs));
      const answer = await settleWithin(
        redis.set(`${prefix}${key}`, "1", "PX", ms, "NX"),
        timeout,
        "redis command",
      );
      return answer === "OK";
    },
    async close() {
      if (options.client !== undefined || client === undefined) return;
      const redis = await client;
      redis.disconnect();
    },
  };
}
