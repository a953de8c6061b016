import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { changeWaiters } from "./change-waiters.js";
import { memoryStore } from "./memory-store.js";
import { redisChangeFeed } from "./redis-change-feed.js";
import { REDIS_SCRIPTS } from "./redis-scripts.js";
import { settleWithin } from "./settle-within.js";
import { isTokenFailure } from "./token-failure.js";
import { tokenSealer } from "./token-sealer.js";
import type { StoreLock, TokenClientEvent, TokenStore } from "./types.js";

export interface RedisStoreOptions {
  /** `redis://…` URL; the store creates, connects and closes its own client. */
  url?: string | undefined;
  /** An ioredis client you own; the store never closes it. */
  client?: Redis | undefined;
  /** Prefix of every key. Default `"auth:token:"`. */
  prefix?: string | undefined;
  /**
   * Encrypts tokens at rest (AES-256-GCM): 32 bytes, or a secret string hashed to 32 bytes.
   * Every process sharing the store needs the same key.
   */
  encryptionKey?: string | Uint8Array | undefined;
  /** Limit of one Redis command, ms; past it the store falls back to memory. Default 1 000. */
  operationTimeout?: number | undefined;
  /**
   * While another process requests a token, callers here wait for its announcement on Redis
   * pub/sub; they also look again after this many ms, in case an announcement was lost.
   * Default 1 000.
   */
  recheckInterval?: number | undefined;
}

/**
 * Shares tokens and refresh locks between processes through Redis (ioredis, loaded only when this
 * store is used), so a fleet asks the authorization server for one token per lifetime. While Redis
 * is unreachable it keeps tokens in process memory, reports `store_degraded` once through the
 * client's `onEvent`, and goes back to Redis (`store_recovered`) when it answers again.
 *
 * A process that finds another one requesting a token waits for that process to announce the
 * result on the channel `<prefix>changed` (one subscriber connection per store, opened on the
 * first wait), re-reading on a slow timer and when the other's lock expires in case the
 * announcement is lost. Redis users need permission to publish and subscribe to that channel.
 *
 * @example
 * ```ts
 * const tokens = createClientCredentialsClient({
 *   ...,
 *   store: redisStore({ url: process.env.REDIS_URL, prefix: "web:tokens:" }),
 * });
 * ```
 */
export function redisStore(options: RedisStoreOptions): TokenStore {
  if (options.url === undefined && options.client === undefined) {
    throw new TypeError("redisStore needs a url or a client");
  }
  const prefix = options.prefix ?? "auth:token:";
  const timeout = options.operationTimeout ?? 1_000;
  const recheckInterval = options.recheckInterval ?? 1_000;
  if (!(recheckInterval > 0)) throw new TypeError("recheckInterval must be positive");
  const sealer = tokenSealer(options.encryptionKey);
  const fallback = memoryStore();
  const listeners: Array<(event: TokenClientEvent) => void> = [];
  let client: Promise<Redis> | undefined;
  let degraded = false;
  let closed: Promise<void> | undefined;

  const connect = (): Promise<Redis> => {
    client ??= createClient(options, timeout);
    return client;
  };

  // One channel for the whole prefix, the cache key in the message, rather than a channel per
  // key: the subscriber subscribes once and stays subscribed, so a wait costs no SUBSCRIBE or
  // UNSUBSCRIBE and has no window where it is between channels. Every process of the prefix
  // receives every announcement, which is one short message per token refresh.
  const channel = `${prefix}changed`;
  const waiters = changeWaiters();
  const feed = redisChangeFeed({
    connection: connect,
    channel,
    timeout,
    onAnnouncement: (k) => waiters.wake(k),
    onLost: () => waiters.wakeAll(),
  });

  const emit = (event: TokenClientEvent) => {
    for (const listener of listeners) listener(event);
  };

  // Every operation goes to Redis when it answers and to process memory when it does not.
  const run = async <T>(op: (redis: Redis) => Promise<T>, fallbackOp: () => Promise<T>) => {
    try {
      const redis = await connect();
      if (redis.status !== "ready") throw new Error(`redis connection is ${redis.status}`);
      const result = await settleWithin(op(redis), timeout, "redis command");
      if (degraded) {
        degraded = false;
        emit({ type: "store_recovered", store: "redis" });
      }
      return result;
    } catch (error) {
      if (!degraded) {
        degraded = true;
        emit({ type: "store_degraded", store: "redis", error });
      }
      return fallbackOp();
    }
  };

  /** Stores `value` for `ms` (an integer) and tells waiters for `k` to look. */
  const setAndAnnounce = async (
    redis: Redis,
    k: string,
    redisKey: string,
    value: string,
    ms: number,
  ) => {
    await redis.eval(REDIS_SCRIPTS.setAndAnnounce, 1, redisKey, value, ms, channel, k);
  };

  const redisLock = (redis: Redis, k: string, lockKey: string, owner: string): StoreLock => ({
    async extend(ttl) {
      const extending = redis.eval(REDIS_SCRIPTS.extend, 1, lockKey, owner, Math.ceil(ttl));
      await settleWithin(extending, timeout, "redis command").catch(() => {});
    },
    async release() {
      const releasing = redis.eval(REDIS_SCRIPTS.release, 1, lockKey, owner, channel, k);
      await settleWithin(releasing, timeout, "redis command").catch(() => {});
    },
  });

  return {
    kind: "redis",
    get degraded() {
      return degraded;
    },
    listen(listener) {
      listeners.push(listener);
    },
    get(k) {
      const redisKey = prefix + k;
      return run(
        async (redis) => sealer.open(redisKey, await redis.get(redisKey)),
        () => fallback.get(k),
      );
    },
    set(k, tokenSet, ttl) {
      const redisKey = prefix + k;
      return run(
        async (redis) => {
          if (ttl >= 1)
            await setAndAnnounce(
              redis,
              k,
              redisKey,
              sealer.seal(redisKey, tokenSet),
              Math.floor(ttl),
            );
        },
        () => fallback.set(k, tokenSet, ttl),
      );
    },
    delete(k, accessToken) {
      const redisKey = prefix + k;
      return run(
        async (redis) => {
          await fallback.delete(k, accessToken);
          if (accessToken === undefined) {
            await redis.del(redisKey);
            return;
          }
          const raw = await redis.get(redisKey);
          if (sealer.open(redisKey, raw)?.accessToken === accessToken) {
            await redis.eval(REDIS_SCRIPTS.deleteIf, 1, redisKey, raw ?? "");
          }
        },
        () => fallback.delete(k, accessToken),
      );
    },
    getFailure(k) {
      const failureKey = `${prefix}${k}:failure`;
      return run(
        async (redis) => {
          const value = parseJson(await redis.get(failureKey));
          return isTokenFailure(value) ? value : undefined;
        },
        () => fallback.getFailure(k),
      );
    },
    setFailure(k, failure, ttl) {
      const failureKey = `${prefix}${k}:failure`;
      return run(
        async (redis) => {
          await setAndAnnounce(
            redis,
            k,
            failureKey,
            JSON.stringify(failure),
            Math.max(1, Math.ceil(ttl)),
          );
        },
        () => fallback.setFailure(k, failure, ttl),
      );
    },
    lock(k, ttl) {
      const lockKey = `${prefix}${k}:lock`;
      return run(
        async (redis) => {
          const owner = randomUUID();
          const taken = await redis.set(lockKey, owner, "PX", Math.ceil(ttl), "NX");
          return taken === "OK" ? redisLock(redis, k, lockKey, owner) : undefined;
        },
        () => fallback.lock(k, ttl),
      );
    },
    async waitForChange(k, signal) {
      // While Redis is away the locks are in memory, whose releases wake waiters themselves.
      if (degraded) return fallback.waitForChange?.(k, signal);
      const waiter = waiters.add(k, signal);
      await feed.listening();
      if (waiter.settled) return;
      // Read after subscribing: a result announced before that shows as a released lock, and the
      // lock's remaining time bounds the wait should its holder die without announcing.
      const remaining = await run(
        (redis) => redis.pttl(`${prefix}${k}:lock`),
        async () => 0,
      );
      waiter.wakeAfter(remaining === -1 ? recheckInterval : Math.min(remaining, recheckInterval));
      return waiter.woken;
    },
    close() {
      closed ??= (async () => {
        feed.close();
        waiters.wakeAll();
        await fallback.close();
        if (options.client !== undefined || client === undefined) return;
        const redis = await client;
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closed;
    },
  };
}

/** Connects (or adopts) the ioredis client of `options`, waiting up to `timeout` ms for it to be ready. */
export async function createClient(
  options: Pick<RedisStoreOptions, "url" | "client">,
  timeout: number,
): Promise<Redis> {
  let redis: Redis;
  if (options.client) {
    redis = options.client;
  } else {
    // Loaded here so that users without Redis never need ioredis installed.
    const { Redis } = await import("ioredis");
    redis = new Redis(options.url ?? "", {
      lazyConnect: true,
      // Fail fast while disconnected (the store falls back to memory) instead of queueing.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: timeout,
      commandTimeout: timeout,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    // Connection errors surface through failed commands, which the store reports as degradation.
    redis.on("error", () => {});
  }
  if (redis.status === "wait") redis.connect().catch(() => {});
  if (redis.status !== "ready") await readyOrTimeout(redis, timeout);
  return redis;
}

function readyOrTimeout(redis: Redis, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.once("ready", done);
  });
}

function parseJson(raw: string | null): unknown {
  try {
    return raw === null ? undefined : JSON.parse(raw);
  } catch {
    return undefined;
  }
}
