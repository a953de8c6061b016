/**
 * Where the `jti` of accepted DPoP proofs is remembered for as long as the proof could be accepted
 * (RFC 9449 §11.1). One store for a whole fleet (Redis: `dpopReplayStore` from
 * `@repo/auth/redis`) makes a proof single-use across instances; the default, in memory, covers
 * one process.
 */
export interface DpopReplayStore {
  /**
   * Records `key` for `ttlMs` milliseconds unless it is recorded already, atomically: of any number
   * of concurrent calls with one key, exactly one answers `true`. `false` means a replay. A
   * rejection means the store cannot answer (503).
   */
  claim(key: string, ttlMs: number): boolean | Promise<boolean>;
}

/** Options of {@link memoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** The clock, epoch milliseconds. Default `Date.now`. */
  now?: () => number;
}

const SWEEP_INTERVAL_MS = 10_000;

/**
 * A replay store in this process's memory: a `Map` from key to expiry, swept of expired entries at
 * most every 10 s (on use; no timer). Check-and-set is synchronous, so it is atomic within the
 * process.
 *
 * @example
 * ```ts
 * const verifier = createAccessTokenVerifier({ ..., dpop: { replayStore: memoryReplayStore() } });
 * ```
 */
export function memoryReplayStore(options: MemoryReplayStoreOptions = {}): DpopReplayStore {
  const now = options.now ?? Date.now;
  const expiries = new Map<string, number>();
  let nextSweep = 0;
  return {
    claim(key, ttlMs) {
      const at = now();
      if (at >= nextSweep) {
        for (const [each, expiry] of expiries) if (expiry <= at) expiries.delete(each);
        nextSweep = at + SWEEP_INTERVAL_MS;
      }
      const expiry = expiries.get(key);
      if (expiry !== undefined && expiry > at) return false;
      expiries.set(key, at + ttlMs);
      return true;
    },
  };
}
