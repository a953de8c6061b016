import { constants, type KeyObject, sign } from "node:crypto";
import type { TestKey } from "./test-key.js";

/** base64url of a string, of bytes, or of a value's JSON: for tokens built by hand. */
export const b64url = (value: string | Buffer | object): string =>
  Buffer.from(
    typeof value === "string" || Buffer.isBuffer(value) ? value : JSON.stringify(value),
  ).toString("base64url");

// A Map, not an object literal: header values such as "valueOf" must not resolve to prototype members.
const HASHES = new Map<string, string | null>(
  Object.entries({
    RS256: "sha256",
    RS384: "sha384",
    RS512: "sha512",
    PS256: "sha256",
    PS384: "sha384",
    PS512: "sha512",
    ES256: "sha256",
    ES384: "sha384",
    ES512: "sha512",
    EdDSA: null,
    Ed25519: null,
  }),
);

/** Signs `signingInput` as `alg` would; raw JWS signature bytes. */
export function signBytes(alg: string, key: KeyObject, signingInput: string): Buffer {
  const data = Buffer.from(signingInput);
  const hash = HASHES.get(alg);
  if (hash === undefined) throw new Error(`unknown alg ${alg}`);
  if (alg.startsWith("PS")) {
    const pss = {
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    };
    return sign(hash, data, { key, ...pss });
  }
  if (alg.startsWith("ES")) return sign(hash, data, { key, dsaEncoding: "ieee-p1363" });
  return sign(hash, data, key);
}

export interface TokenParts {
  header?: Record<string, unknown>;
  payload?: Record<string, unknown>;
}

/** A compact JWS over arbitrary header and payload, signed with `key` (header `alg`/`kid` default to the key's). */
export function signToken(key: TestKey, parts: TokenParts = {}): string {
  const header = { alg: key.alg, typ: "JWT", kid: key.kid, ...parts.header };
  const input = `${b64url(header)}.${b64url(parts.payload ?? {})}`;
  // A header naming an algorithm the key cannot produce is still signed with the key's own.
  const alg = HASHES.has(String(header.alg)) ? String(header.alg) : key.alg;
  return `${input}.${signBytes(alg, key.privateKey, input).toString("base64url")}`;
}
