import { changeWaiters } from "./change-waiters.js";
import type { StoreLock, TokenFailure, TokenSet, TokenStore } from "./types.js";

export interface MemoryStoreOptions {
  /** Clock for entry lifetimes, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * Keeps tokens in this process. The default store; also the fallback of `redisStore` while Redis
 * is unreachable. Clients sharing one instance share tokens and refresh locks.
 *
 * @example
 * ```ts
 * const tokens = createClientCredentialsClient({ ..., store: memoryStore() });
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): TokenStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { tokenSet: TokenSet; until: number }>();
  const locks = new Map<string, { owner: symbol; until: number }>();
  const failures = new Map<string, { failure: TokenFailure; until: number }>();
  const waiters = changeWaiters();

  const lockFor = (key: string, owner: symbol): StoreLock => ({
    async extend(ttl) {
      const held = locks.get(key);
      if (held?.owner === owner) held.until = now() + ttl;
    },
    async release() {
      if (locks.get(key)?.owner !== owner) return;
      locks.delete(key);
      waiters.wake(key);
    },
  });

  return {
    kind: "memory",
    degraded: false,
    async get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until <= now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.tokenSet;
    },
    async set(key, tokenSet, ttl) {
      if (ttl > 0) entries.set(key, { tokenSet, until: now() + ttl });
      else entries.delete(key);
      waiters.wake(key);
    },
    async delete(key, accessToken) {
      if (accessToken === undefined || entries.get(key)?.tokenSet.accessToken === accessToken) {
        entries.delete(key);
      }
    },
    async getFailure(key) {
      const entry = failures.get(key);
      return entry && entry.until > now() ? entry.failure : undefined;
    },
    async setFailure(key, failure, ttl) {
      failures.set(key, { failure, until: now() + ttl });
      waiters.wake(key);
    },
    async lock(key, ttl) {
      const held = locks.get(key);
      if (held && held.until > now()) return undefined;
      const owner = Symbol(key);
      locks.set(key, { owner, until: now() + ttl });
      return lockFor(key, owner);
    },
    // Every change happens in this process and announces itself, so a waiter needs no timer
    // other than the lock's expiry (a holder that never releases it).
    waitForChange(key, signal) {
      const waiter = waiters.add(key, signal);
      const held = locks.get(key);
      // One millisecond past the expiry: a timer may fire within the millisecond `Date.now()`
      // still reports as the last one of the lock, and the woken waiter would find it held.
      waiter.wakeAfter(held ? held.until - now() + 1 : 0);
      return waiter.woken;
    },
    async close() {
      waiters.wakeAll();
      entries.clear();
      locks.clear();
      failures.clear();
    },
  };
}
