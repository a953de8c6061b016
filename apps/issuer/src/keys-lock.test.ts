import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { withKeysLock } from "./keys-lock.js";

let keysDir: string;
let lock: string;

beforeEach(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "keys-lock-"));
  lock = join(keysDir, "keys.json.lock");
});

afterEach(async () => {
  await rm(keysDir, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  return child.pid as number;
}

it("runs tasks one at a time and leaves no lock behind", async () => {
  const order: string[] = [];
  const task = (name: string) => async () => {
    order.push(`${name} in`);
    await new Promise((resolve) => setImmediate(resolve));
    order.push(`${name} out`);
  };
  await Promise.all([withKeysLock(keysDir, task("a")), withKeysLock(keysDir, task("b"))]);
  expect(order).toHaveLength(4);
  for (let i = 0; i < 4; i += 2) expect(order[i + 1]).toBe(order[i]?.replace("in", "out"));
  await expect(stat(lock)).rejects.toMatchObject({ code: "ENOENT" });
});

it("takes over at once a lock whose process is gone, however recent", async () => {
  await writeFile(lock, `${await deadPid()} left-behind\n`);
  // The lock is fresh (stale only after 60 s): only its dead holder can let this through.
  await expect(withKeysLock(keysDir, async () => "ran", { staleMs: 60_000 })).resolves.toBe("ran");
});

it("waits for a live holder and gives up with a clear error", async () => {
  await writeFile(lock, `${process.pid} someone-else\n`);
  await expect(
    withKeysLock(keysDir, async () => "ran", { staleMs: 60_000, timeoutMs: 50 }),
  ).rejects.toThrow(/keys\.json\.lock is held by another process/);
  expect(await readFile(lock, "utf8")).toBe(`${process.pid} someone-else\n`);
});

it("does not remove a lock another holder took over while the task ran", async () => {
  await withKeysLock(keysDir, async () => {
    // As if this task ran past the stale limit and another process took the lock over.
    await writeFile(lock, `${process.pid} the-new-holder\n`);
  });
  expect(await readFile(lock, "utf8")).toBe(`${process.pid} the-new-holder\n`);
});
