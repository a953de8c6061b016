import { mkdtemp, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { copyOfTestKeys } from "../test/support/keys-dir.js";
import {
  ensureKeySet,
  KeyFileError,
  type KeySet,
  keysFilePath,
  keysFileVersion,
  readKeySet,
  retirePreviousKeys,
  rotateKeySet,
} from "./signing-keys.js";

let keysDir: string;

beforeEach(async () => {
  keysDir = await copyOfTestKeys("signing-keys-");
});

afterEach(async () => {
  await rm(keysDir, { recursive: true, force: true });
});

const statuses = (keySet: KeySet) =>
  Object.fromEntries(keySet.keys.map((key) => [key.jwk.kid, key.status]));

it("creates a current and a next key once, then reads them back", async () => {
  const emptyDir = await mkdtemp(join(tmpdir(), "signing-keys-new-"));
  try {
    const created = await ensureKeySet(emptyDir);
    expect(Object.values(statuses(created)).sort()).toEqual(["current", "next"]);
    expect(await ensureKeySet(emptyDir)).toEqual(created);
    expect(created.keys.every((key) => key.jwk.alg === "RS256" && key.jwk.use === "sig")).toBe(
      true,
    );
  } finally {
    await rm(emptyDir, { recursive: true, force: true });
  }
});

it("moves next to current and current to previous, retiring previous keys after their grace", async () => {
  const start = new Date("2026-01-01T00:00:00Z");
  const initial = statuses(await ensureKeySet(keysDir, start));
  const first = await rotateKeySet(keysDir, { graceSeconds: 3600, now: start });
  const afterFirst = statuses(first);
  for (const [kid, status] of Object.entries(initial)) {
    expect(afterFirst[kid]).toBe(status === "next" ? "current" : "previous");
  }

  // Within the grace period the superseded key stays published...
  const soon = new Date(start.getTime() + 1000);
  const second = statuses(await rotateKeySet(keysDir, { graceSeconds: 3600, now: soon }));
  expect(Object.values(second).filter((status) => status === "previous")).toHaveLength(2);

  // ...and once no token it signed can be valid, the next rotation drops it.
  const later = new Date(start.getTime() + 3600_500);
  const third = statuses(await rotateKeySet(keysDir, { graceSeconds: 3600, now: later }));
  const originalCurrent = Object.keys(initial).find((kid) => initial[kid] === "current");
  expect(third).not.toHaveProperty(originalCurrent as string);
  expect(Object.values(third).sort()).toEqual(["current", "next", "previous", "previous"]);
});

it("retires every previous key on demand", async () => {
  await rotateKeySet(keysDir, { graceSeconds: 3600 });
  const keySet = await retirePreviousKeys(keysDir);
  expect(keySet.keys.map((key) => key.status).sort()).toEqual(["current", "next"]);
  expect(await readKeySet(keysDir)).toEqual(keySet);
});

it("gives each written version of the file a new identity", async () => {
  await ensureKeySet(keysDir);
  const before = await keysFileVersion(keysDir);
  await rotateKeySet(keysDir, { graceSeconds: 0 });
  expect(await keysFileVersion(keysDir)).not.toBe(before);
});

it("refuses a damaged keys file instead of replacing it", async () => {
  await writeFile(keysFilePath(keysDir), JSON.stringify({ keys: [] }));
  await expect(ensureKeySet(keysDir)).rejects.toBeInstanceOf(KeyFileError);
  await writeFile(keysFilePath(keysDir), "{");
  await expect(readKeySet(keysDir)).rejects.toThrow(keysFilePath(keysDir));
});

it("applies concurrent rotations one after the other, losing none", async () => {
  const emptyDir = await mkdtemp(join(tmpdir(), "signing-keys-race-"));
  try {
    const first = await ensureKeySet(emptyDir);
    const rotations = 5;
    const results = await Promise.all(
      Array.from({ length: rotations }, () => rotateKeySet(emptyDir, { graceSeconds: 3600 })),
    );
    const final = await readKeySet(emptyDir);
    const counts = new Map<string, number>();
    for (const status of Object.values(statuses(final as KeySet))) {
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ next: 1, current: 1, previous: rotations });
    // Every key a rotation published as next is still in the file: none was overwritten unseen.
    const kids = new Set(final?.keys.map((key) => key.jwk.kid));
    for (const keySet of [first, ...results]) {
      for (const key of keySet.keys) expect(kids.has(key.jwk.kid)).toBe(true);
    }
  } finally {
    await rm(emptyDir, { recursive: true, force: true });
  }
});

it("gives issuers starting together on an empty folder one key set", async () => {
  const emptyDir = await mkdtemp(join(tmpdir(), "signing-keys-start-"));
  try {
    const sets = await Promise.all(Array.from({ length: 4 }, () => ensureKeySet(emptyDir)));
    for (const keySet of sets) expect(keySet).toEqual(sets[0]);
    expect(await readKeySet(emptyDir)).toEqual(sets[0]);
  } finally {
    await rm(emptyDir, { recursive: true, force: true });
  }
});

it("takes over a lock left by a process that died, and leaves no lock behind", async () => {
  const lock = join(keysDir, "keys.json.lock");
  await writeFile(lock, "12345\n");
  const old = new Date(Date.now() - 60_000);
  await utimes(lock, old, old);
  await rotateKeySet(keysDir, { graceSeconds: 60 });
  await expect(stat(lock)).rejects.toMatchObject({ code: "ENOENT" });
});
