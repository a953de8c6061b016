import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { changeWaiters } from "./change-waiters.js";
import { memoryStore } from "./memory-store.js";
import { redisChangeFeed } from "./redis-change-feed.js";
import { settleWithin } from "./settle-within.js";
import { isTokenFailure } from "./token-failure.js";
import type { StoreLock, TokenClientEvent, TokenSet, TokenStore } from "./types.js";

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

// Writes and lock releases announce the cache key (a hash, nothing secret) in the same script, so
// no change lands in Redis unannounced, and a release is announced only by its owner.
// The announcement is best effort (`pcall`): a user without PUBLISH rights (Redis ACLs) must
// still store tokens; waiters then find them on their recheck timer.
const SET_AND_ANNOUNCE = `redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2]) redis.pcall("publish", ARGV[3], ARGV[4]) return 1`;
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then redis.call("del", KEYS[1]) redis.pcall("publish", ARGV[2], ARGV[3]) return 1 end return 0`;
const EXTEND = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) end return 0`;
const DELETE_IF = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`;

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
  const key =
    options.encryptionKey === undefined ? undefined : encryptionKey(options.encryptionKey);
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

  const seal = (redisKey: string, tokenSet: TokenSet): string => {
    const plain = JSON.stringify(tokenSet);
    return key ? encrypt(key, redisKey, plain) : plain;
  };

  const open = (redisKey: string, raw: string | null): TokenSet | undefined => {
    if (raw === null) return undefined;
    try {
      const value: unknown = JSON.parse(key ? decrypt(key, redisKey, raw) : raw);
      return isTokenSet(value) ? value : undefined;
    } catch {
      return undefined;
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
    await redis.eval(SET_AND_ANNOUNCE, 1, redisKey, value, ms, channel, k);
  };

  const redisLock = (redis: Redis, k: string, lockKey: string, owner: string): StoreLock => ({
    async extend(ttl) {
      const extending = redis.eval(EXTEND, 1, lockKey, owner, Math.ceil(ttl));
      await settleWithin(extending, timeout, "redis command").catch(() => {});
    },
    async release() {
      const releasing = redis.eval(RELEASE, 1, lockKey, owner, channel, k);
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
        async (redis) => open(redisKey, await redis.get(redisKey)),
        () => fallback.get(k),
      );
    },
    set(k, tokenSet, ttl) {
      const redisKey = prefix + k;
      return run(
        async (redis) => {
          if (ttl >= 1)
            await setAndAnnounce(redis, k, redisKey, seal(redisKey, tokenSet), Math.floor(ttl));
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
          if (open(redisKey, raw)?.accessToken === accessToken) {
            await redis.eval(DELETE_IF, 1, redisKey, raw ?? "");
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

async function createClient(options: RedisStoreOptions, timeout: number): Promise<Redis> {
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

function encryptionKey(value: string | Uint8Array): Buffer {
  if (typeof value === "string") return createHash("sha256").update(value).digest();
  if (value.byteLength !== 32) throw new TypeError("encryptionKey must be 32 bytes");
  return Buffer.from(value);
}

// The Redis key is bound as associated data, so a sealed value cannot be moved to another key.
function encrypt(key: Buffer, redisKey: string, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(Buffer.from(redisKey));
  const sealed = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return `v1.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString("base64url")}`;
}

function decrypt(key: Buffer, redisKey: string, value: string): string {
  if (!value.startsWith("v1.")) throw new Error("not sealed");
  const bytes = Buffer.from(value.slice(3), "base64url");
  const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, 12));
  decipher.setAAD(Buffer.from(redisKey)).setAuthTag(bytes.subarray(12, 28));
  return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString("utf8");
}

function parseJson(raw: string | null): unknown {
  try {
    return raw === null ? undefined : JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function isTokenSet(value: unknown): value is TokenSet {
  const v = value as Partial<TokenSet> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.accessToken === "string" &&
    v.accessToken.length > 0 &&
    v.tokenType === "Bearer" &&
    typeof v.expiresAt === "number" &&
    typeof v.issuedAt === "number" &&
    (v.scope === undefined || typeof v.scope === "string")
  );
}
