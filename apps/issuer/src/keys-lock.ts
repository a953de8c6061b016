/**
 * A lock on the keys folder, so that rotations from several processes (a running issuer, `pnpm
 * rotate-keys`, a second issuer sharing the folder) apply one after the other instead of one
 * silently overwriting the other's keys. The lock is a file created with O_EXCL: atomic on every
 * local file system, and it needs no daemon. A holder that died leaves the file behind, so a lock
 * older than `staleMs` is taken over.
 */
import { open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

const LOCK_FILE = "keys.json.lock";

export interface KeysLockOptions {
  /** A lock file older than this belongs to a process that died: it is removed. */
  staleMs?: number;
  /** Give up (throw) after waiting this long for another holder. */
  timeoutMs?: number;
}

/** Thrown when the keys folder stays locked by a live holder for longer than the timeout. */
export class KeysLockTimeoutError extends Error {
  override name = "KeysLockTimeoutError";
}

async function tryAcquire(path: string, staleMs: number): Promise<boolean> {
  try {
    const handle = await open(path, "wx", 0o600);
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const info = await stat(path).catch(() => undefined);
  // Gone since open() failed: the holder released it, try again at once.
  if (info === undefined) return false;
  if (Date.now() - info.mtimeMs > staleMs) await rm(path, { force: true });
  return false;
}

/** Runs `task` while holding the keys folder's lock; the folder must exist. */
export async function withKeysLock<T>(
  keysDir: string,
  task: () => Promise<T>,
  options: KeysLockOptions = {},
): Promise<T> {
  const { staleMs = 30_000, timeoutMs = 60_000 } = options;
  const path = join(keysDir, LOCK_FILE);
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  while (!(await tryAcquire(path, staleMs))) {
    if (Date.now() > deadline) {
      throw new KeysLockTimeoutError(
        `${path} is held by another process; remove it if no issuer or rotate-keys is running`,
      );
    }
    // A holder generates an RSA key (tens of milliseconds): wait a little, with jitter so that
    // several waiters do not retry in step.
    await delay(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 100);
  }
  try {
    return await task();
  } finally {
    await rm(path, { force: true });
  }
}
