/** One caller waiting for a key to change. */
export interface ChangeWaiter {
  /** Resolves when the waiter is woken: by `wake`, its deadline, or its abort signal. */
  readonly woken: Promise<void>;
  readonly settled: boolean;
  /** Wakes it after `ms` at the latest (at once when `ms` ≤ 0); replaces an earlier deadline. */
  wakeAfter(ms: number): void;
}

export interface ChangeWaiters {
  /** Registers a waiter at once, so that a change announced from now on is not missed. */
  add(key: string, signal: AbortSignal): ChangeWaiter;
  /** Wakes everyone waiting for `key`. */
  wake(key: string): void;
  /** Wakes everyone, for when announcements may have been lost. */
  wakeAll(): void;
}

/**
 * Callers of a store waiting for keys to change. A waiter holds one timer and one abort listener,
 * both removed when it wakes, so many waits leave nothing behind.
 */
export function changeWaiters(): ChangeWaiters {
  const byKey = new Map<string, Set<() => void>>();

  const add = (key: string, signal: AbortSignal): ChangeWaiter => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    let resolve!: () => void;
    const woken = new Promise<void>((r) => {
      resolve = r;
    });
    const wake = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", wake);
      const waiting = byKey.get(key);
      waiting?.delete(wake);
      if (waiting?.size === 0) byKey.delete(key);
      resolve();
    };
    if (signal.aborted) {
      wake();
    } else {
      signal.addEventListener("abort", wake, { once: true });
      const waiting = byKey.get(key) ?? new Set();
      byKey.set(key, waiting.add(wake));
    }
    return {
      woken,
      get settled() {
        return settled;
      },
      wakeAfter(ms) {
        if (settled) return;
        clearTimeout(timer);
        if (ms <= 0) wake();
        else timer = setTimeout(wake, ms);
      },
    };
  };

  return {
    add,
    wake(key) {
      for (const wake of [...(byKey.get(key) ?? [])]) wake();
    },
    wakeAll() {
      for (const waiting of [...byKey.values()]) for (const wake of [...waiting]) wake();
    },
  };
}
