import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { memoryStore } from "./memory-store.js";
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
}

const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`;
const EXTEND = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) end return 0`;
const DELETE_IF = RELEASE;

/**
 * Shares tokens and refresh locks between processes through Redis (ioredis, loaded only when this
 * store is used), so a fleet asks the authorization server for one token per lifetime. While Redis
 * is unreachable it keeps tokens in process memory, reports `store_degraded` once through the
 * client's `onEvent`, and goes back to Redis (`store_recovered`) when it answers again.
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
  const key =
    options.encryptionKey === undefined ? undefined : encryptionKey(options.encryptionKey);
  const fallback = memoryStore();
  const listeners: Array<(event: TokenClientEvent) => void> = [];
  let client: Promise<Redis> | undefined;
  let degraded = false;

  const connect = (): Promise<Redis> => {
    client ??= createClient(options, timeout);
    return client;
  };

  const emit = (event: TokenClientEvent) => {
    for (const listener of listeners) listener(event);
  };

  // Every operation goes to Redis when it answers and to process memory when it does not.
  const run = async <T>(op: (redis: Redis) => Promise<T>, fallbackOp: () => Promise<T>) => {
    try {
      const redis = await connect();
      if (redis.status !== "ready") throw new Error(`redis connection is ${redis.status}`);
      const result = await withTimeout(op(redis), timeout);
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

  const redisLock = (redis: Redis, lockKey: string, owner: string): StoreLock => ({
    async extend(ttl) {
      await withTimeout(redis.eval(EXTEND, 1, lockKey, owner, Math.ceil(ttl)), timeout).catch(
        () => {},
      );
    },
    async release() {
      await withTimeout(redis.eval(RELEASE, 1, lockKey, owner), timeout).catch(() => {});
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
          if (ttl >= 1) await redis.set(redisKey, seal(redisKey, tokenSet), "PX", Math.floor(ttl));
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
          await redis.set(failureKey, JSON.stringify(failure), "PX", Math.max(1, Math.ceil(ttl)));
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
          return taken === "OK" ? redisLock(redis, lockKey, owner) : undefined;
        },
        () => fallback.lock(k, ttl),
      );
    },
    async close() {
      await fallback.close();
      if (options.client !== undefined || client === undefined) return;
      const redis = await client;
      await redis.quit().catch(() => redis.disconnect());
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

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis command exceeded ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
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
