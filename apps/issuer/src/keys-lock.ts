/**
 * A lock on the keys folder, so that rotations from several processes (a running issuer, `pnpm
 * rotate-keys`, a second issuer sharing the folder) apply one after the other instead of one
 * silently overwriting the other's keys. The lock is a file created with O_EXCL: atomic on every
 * local file system, and it needs no daemon. It names its holder (pid and a random nonce): a lock
 * whose process is gone, or older than `staleMs`, is taken over, and a holder removes the lock
 * only while it is still its own.
 */
import { randomUUID } from "node:crypto";
import { link, open, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

const LOCK_FILE = "keys.json.lock";

export interface KeysLockOptions {
  /** A lock file older than this is taken over even if its process seems alive. */
  staleMs?: number;
  /** Give up (throw) after waiting this long for another holder. */
  timeoutMs?: number;
}

/** Thrown when the keys folder stays locked by a live holder for longer than the timeout. */
export class KeysLockTimeoutError extends Error {
  override name = "KeysLockTimeoutError";
}

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function create(path: string, owner: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(owner);
  } catch (error) {
    // A lock without an owner would hold every change back until it went stale.
    await handle.close().catch(() => {});
    await rm(path, { force: true });
    throw error;
  }
  await handle.close();
  return true;
}

/**
 * Moves a lock judged stale out of the way. Another waiter may have replaced it in between: the
 * lock is first renamed aside (atomic, so only one waiter gets any given file), and if what was
 * moved is not the stale lock that was read, it is put back (`link` never overwrites a newer one).
 */
async function takeOver(path: string, staleOwner: string): Promise<void> {
  const aside = `${path}.${randomUUID()}.stale`;
  try {
    await rename(path, aside);
  } catch {
    return; // gone already: someone released or took it over
  }
  try {
    const moved = await readFile(aside, "utf8").catch(() => undefined);
    if (moved !== staleOwner) await link(aside, path).catch(() => {});
  } finally {
    await rm(aside, { force: true });
  }
}

async function tryAcquire(path: string, owner: string, staleMs: number): Promise<boolean> {
  if (await create(path, owner)) return true;
  const current = await readFile(path, "utf8").catch(() => undefined);
  // Gone since, or not written yet by a holder that just created it: look again shortly.
  if (current === undefined || current === "") return false;
  const mtimeMs = (await stat(path).catch(() => undefined))?.mtimeMs ?? Date.now();
  const pid = Number(current.split(" ")[0]);
  const stale =
    Date.now() - mtimeMs > staleMs || (Number.isInteger(pid) && pid > 0 && processIsGone(pid));
  if (stale) await takeOver(path, current);
  return false;
}

async function release(path: string, owner: string): Promise<void> {
  // Only our own lock: if it was taken over (we ran past staleMs), it belongs to another now.
  if ((await readFile(path, "utf8").catch(() => undefined)) === owner) {
    await rm(path, { force: true });
  }
}

/** Runs `task` while holding the keys folder's lock; the folder must exist. */
export async function withKeysLock<T>(
  keysDir: string,
  task: () => Promise<T>,
  options: KeysLockOptions = {},
): Promise<T> {
  const { staleMs = 30_000, timeoutMs = 60_000 } = options;
  const path = join(keysDir, LOCK_FILE);
  const owner = `${process.pid} ${randomUUID()}\n`;
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  while (!(await tryAcquire(path, owner, staleMs))) {
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
    await release(path, owner);
  }
}
