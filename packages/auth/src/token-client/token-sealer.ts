import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { TokenSet } from "./types.js";

/** Turns token sets into the strings a shared store keeps, and back. */
export interface TokenSealer {
  /** `tokenSet` as stored under `storeKey`: JSON, encrypted when the sealer has a key. */
  seal(storeKey: string, tokenSet: TokenSet): string;
  /**
   * The token set stored under `storeKey`, or `undefined` for anything else: missing, not
   * decryptable with this key, sealed for another key, or not a token set.
   */
  open(storeKey: string, raw: string | null): TokenSet | undefined;
}

/**
 * Seals tokens for a shared store. With `encryptionKey` (32 bytes, or a secret string hashed to 32
 * bytes) they are encrypted with AES-256-GCM, the store key bound as associated data so that a
 * sealed value cannot be moved to another key; without it they are stored as JSON.
 */
export function tokenSealer(encryptionKey?: string | Uint8Array): TokenSealer {
  const key = encryptionKey === undefined ? undefined : keyBytes(encryptionKey);
  return {
    seal(storeKey, tokenSet) {
      const plain = JSON.stringify(tokenSet);
      return key ? encrypt(key, storeKey, plain) : plain;
    },
    open(storeKey, raw) {
      if (raw === null) return undefined;
      try {
        const value: unknown = JSON.parse(key ? decrypt(key, storeKey, raw) : raw);
        return isTokenSet(value) ? value : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

function keyBytes(value: string | Uint8Array): Buffer {
  if (typeof value === "string") return createHash("sha256").update(value).digest();
  if (value.byteLength !== 32) throw new TypeError("encryptionKey must be 32 bytes");
  return Buffer.from(value);
}

function encrypt(key: Buffer, storeKey: string, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(Buffer.from(storeKey));
  const sealed = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return `v1.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString("base64url")}`;
}

function decrypt(key: Buffer, storeKey: string, value: string): string {
  if (!value.startsWith("v1.")) throw new Error("not sealed");
  const bytes = Buffer.from(value.slice(3), "base64url");
  const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, 12));
  decipher.setAAD(Buffer.from(storeKey)).setAuthTag(bytes.subarray(12, 28));
  return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString("utf8");
}

function isTokenSet(value: unknown): value is TokenSet {
  const v = value as Partial<TokenSet> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.accessToken === "string" &&
    v.accessToken.length > 0 &&
    (v.tokenType === "Bearer" || v.tokenType === "DPoP") &&
    typeof v.expiresAt === "number" &&
    typeof v.issuedAt === "number" &&
    (v.scope === undefined || typeof v.scope === "string")
  );
}
