/**
 * The issuer's signing keys, kept in one JSON file (`keys.json`) inside a keys folder so that
 * restarts keep the same `kid`s and a separate process (`pnpm rotate-keys`) can rotate them while
 * the server runs.
 *
 * Lifecycle of a key (the JWKS always publishes every key in the file, only `current` signs):
 *
 *   next ──rotate──▶ current ──rotate──▶ previous ──(grace elapsed, next rotate) or retire──▶ gone
 *
 * - `next` is published before it ever signs, so verifiers that cached the JWKS since the last
 *   rotation already know the key that will sign after the next one: no unknown-`kid` miss.
 * - `current` signs every new access token.
 * - `previous` no longer signs but stays published, so tokens it signed keep verifying. It is
 *   retired (dropped from the file, hence from the JWKS) by the first rotation after its grace
 *   period (the longest token lifetime of the tenant) has passed, or at once by `retire`.
 *
 * Every change is written to a temporary file and renamed over `keys.json`, so a reader never
 * sees half a file; a running issuer compares the file's identity before each request and reloads
 * it when it changed. Changes hold the folder's lock (keys-lock.ts), so two processes rotating at
 * once make two rotations, and two issuers starting on an empty folder agree on one key set.
 */
import { generateKeyPair, randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { calculateJwkThumbprint, type JWK } from "jose";
import { z } from "zod";
import { fileVersion } from "./file-version.js";
import { withKeysLock } from "./keys-lock.js";

const generateRsaKeyPair = promisify(generateKeyPair);

const KEYS_FILE = "keys.json";

const rsaPrivateJwk = z.looseObject({
  kty: z.literal("RSA"),
  kid: z.string().min(1),
  n: z.string(),
  e: z.string(),
  d: z.string(),
  p: z.string(),
  q: z.string(),
  dp: z.string(),
  dq: z.string(),
  qi: z.string(),
});

const keyEntry = z.object({
  status: z.enum(["next", "current", "previous"]),
  createdAt: z.iso.datetime(),
  /** For `previous` keys: from then on a rotation may drop the key. */
  retireAfter: z.iso.datetime().optional(),
  jwk: rsaPrivateJwk,
});

const keyFile = z
  .object({ keys: z.array(keyEntry) })
  .refine(
    (file) =>
      file.keys.filter((key) => key.status === "current").length === 1 &&
      file.keys.filter((key) => key.status === "next").length === 1,
    "must hold exactly one current and one next key",
  );

export type SigningKey = z.infer<typeof keyEntry>;
export type KeySet = z.infer<typeof keyFile>;

/** A keys file that exists but cannot be used; it is never overwritten silently. */
export class KeyFileError extends Error {
  override name = "KeyFileError";
}

export function keysFilePath(keysDir: string): string {
  return join(keysDir, KEYS_FILE);
}

async function newKey(status: SigningKey["status"], now: Date): Promise<SigningKey> {
  const { privateKey } = await generateRsaKeyPair("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  return {
    status,
    createdAt: now.toISOString(),
    jwk: rsaPrivateJwk.parse({ ...jwk, kid, alg: "RS256", use: "sig" }),
  };
}

/** Reads the keys file; `undefined` when there is none yet. */
export async function readKeySet(keysDir: string): Promise<KeySet | undefined> {
  const path = keysFilePath(keysDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new KeyFileError(`${path} is not valid JSON; delete it to generate new keys`, { cause });
  }
  const result = keyFile.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new KeyFileError(
      `${path} is not a valid keys file (${issue?.path.join(".") || "root"}: ${issue?.message}); delete it to generate new keys`,
      { cause: result.error },
    );
  }
  return result.data;
}

async function writeKeySet(keysDir: string, keySet: KeySet): Promise<void> {
  const path = keysFilePath(keysDir);
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(keySet, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Reads the keys file, creating it with a current and a next key when there is none. */
export async function ensureKeySet(keysDir: string, now = new Date()): Promise<KeySet> {
  const existing = await readKeySet(keysDir);
  if (existing) return existing;
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  return withKeysLock(keysDir, () => ensureLocked(keysDir, now));
}

/** {@link ensureKeySet} for a caller holding the lock: another process may have created it meanwhile. */
async function ensureLocked(keysDir: string, now: Date): Promise<KeySet> {
  const existing = await readKeySet(keysDir);
  if (existing) return existing;
  const keySet = { keys: [await newKey("next", now), await newKey("current", now)] };
  await writeKeySet(keysDir, keySet);
  return keySet;
}

/** Applies `change` to the key set (created first if missing) under the folder's lock. */
async function updateKeySet(
  keysDir: string,
  now: Date,
  change: (keys: readonly SigningKey[]) => Promise<SigningKey[]>,
): Promise<KeySet> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  return withKeysLock(keysDir, async () => {
    const { keys } = await ensureLocked(keysDir, now);
    const keySet = { keys: await change(keys) };
    await writeKeySet(keysDir, keySet);
    return keySet;
  });
}

export interface RotateOptions {
  /** How long a superseded key stays published: the longest token lifetime, in seconds. */
  graceSeconds: number;
  now?: Date;
}

/**
 * One rotation step: next → current, current → previous, a fresh next; previous keys whose grace
 * has passed are retired.
 */
export async function rotateKeySet(keysDir: string, options: RotateOptions): Promise<KeySet> {
  const now = options.now ?? new Date();
  const retireAfter = new Date(now.getTime() + options.graceSeconds * 1000).toISOString();
  return updateKeySet(keysDir, now, async (keys) => {
    const rotated: SigningKey[] = [await newKey("next", now)];
    for (const key of keys) {
      if (key.status === "next") rotated.push({ ...key, status: "current" });
      else if (key.status === "current") rotated.push({ ...key, status: "previous", retireAfter });
      else if (key.retireAfter && Date.parse(key.retireAfter) > now.getTime()) rotated.push(key);
    }
    return rotated;
  });
}

/** Retires every previous key now: tokens they signed stop verifying once verifiers refresh. */
export async function retirePreviousKeys(keysDir: string): Promise<KeySet> {
  return updateKeySet(keysDir, new Date(), async (keys) =>
    keys.filter((key) => key.status !== "previous"),
  );
}

/** Identifies the keys file's current version; `undefined` if there is none. */
export function keysFileVersion(keysDir: string): Promise<string | undefined> {
  return fileVersion(keysFilePath(keysDir));
}

export function currentKey(keySet: KeySet): SigningKey {
  const key = keySet.keys.find((entry) => entry.status === "current");
  if (!key) throw new KeyFileError("the keys file has no current key");
  return key;
}
