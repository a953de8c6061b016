import {
  createPublicKey,
  type JsonWebKey,
  type KeyObject,
  type VerifyKeyObjectInput,
} from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { type SigningKey, verifyInputFor } from "./algorithms.js";

/** Thrown for a JWKS document that must not replace the keys in use. */
export class InvalidJwksError extends Error {
  override name = "InvalidJwksError";
}

// Members that only private or symmetric keys have. A JWKS that publishes one is misconfigured
// (or compromised) and is not trusted at all.
const SECRET_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

// Only the members that define the public key reach the importer, so extension members cannot
// change what is imported. A Map, so a `kty` such as "constructor" finds nothing.
const PUBLIC_MEMBERS: ReadonlyMap<string, readonly string[]> = new Map([
  ["RSA", ["n", "e"]],
  ["EC", ["crv", "x", "y"]],
  ["OKP", ["crv", "x"]],
]);

const MIN_RSA_BITS = 2048;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function importPublicKey(jwk: Record<string, unknown>): KeyObject | undefined {
  const kty = jwk.kty;
  if (typeof kty !== "string") return undefined;
  const members = PUBLIC_MEMBERS.get(kty);
  if (members === undefined) return undefined;
  const publicJwk: Record<string, unknown> = { kty };
  for (const member of members) {
    if (typeof jwk[member] !== "string") return undefined;
    publicJwk[member] = jwk[member];
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: publicJwk as JsonWebKey, format: "jwk" });
  } catch {
    return undefined;
  }
  if (kty === "RSA" && (keyObject.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    return undefined;
  }
  return keyObject;
}

function isSigningJwk(jwk: Record<string, unknown>): boolean {
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes("verify")) return false;
  }
  return jwk.kid === undefined || typeof jwk.kid === "string";
}

/**
 * Turns a JWKS document into signing keys usable with the allowed algorithms. Keys that are not for
 * signatures, of unknown types, weak (RSA under 2048 bits) or unusable with every allowed `alg` are
 * skipped. The whole document is refused ({@link InvalidJwksError}) when it is not a JWKS, holds any
 * private or symmetric key, or leaves no usable key. Keys equal to one in `previous` (same `kid`,
 * thumbprint and `alg`) are reused, so each JWK is imported once for the life of the process.
 */
export async function readJwksDocument(
  document: unknown,
  algorithms: ReadonlySet<string>,
  previous: readonly SigningKey[],
): Promise<SigningKey[]> {
  if (!isRecord(document) || !Array.isArray(document.keys)) {
    throw new InvalidJwksError("The document is not a JWK Set");
  }
  const known = new Map(previous.map((key) => [identity(key.kid, key.thumbprint, key.alg), key]));
  const keys: SigningKey[] = [];
  for (const jwk of document.keys) {
    if (!isRecord(jwk)) throw new InvalidJwksError("A JWK Set entry is not an object");
    if (jwk.kty === "oct" || SECRET_MEMBERS.some((member) => member in jwk)) {
      throw new InvalidJwksError("The JWK Set publishes private or symmetric key material");
    }
    if (!isSigningJwk(jwk)) continue;
    const keyObject = importPublicKey(jwk);
    if (keyObject === undefined) continue;
    const kid = jwk.kid as string | undefined;
    const jwkAlg = typeof jwk.alg === "string" ? jwk.alg : undefined;
    const inputs = new Map<string, KeyObject | VerifyKeyObjectInput>();
    for (const alg of algorithms) {
      if (jwkAlg !== undefined && !sameAlgorithm(jwkAlg, alg)) continue;
      const input = verifyInputFor(alg, keyObject);
      if (input !== undefined) inputs.set(alg, input);
    }
    if (inputs.size === 0) continue;
    const thumbprint = await calculateJwkThumbprint(jwk as JWK);
    const reused = known.get(identity(kid, thumbprint, jwkAlg));
    keys.push(reused ?? { kid, thumbprint, alg: jwkAlg, keyObject, retired: false, inputs });
  }
  if (keys.length === 0) throw new InvalidJwksError("The JWK Set has no usable signing key");
  return keys;
}

// RFC 8037 `EdDSA` and RFC 9864 `Ed25519` name the same signatures on Ed25519 keys.
function sameAlgorithm(jwkAlg: string, alg: string): boolean {
  return (
    jwkAlg === alg ||
    (jwkAlg === "EdDSA" && alg === "Ed25519") ||
    (jwkAlg === "Ed25519" && alg === "EdDSA")
  );
}

function identity(kid: string | undefined, thumbprint: string, alg: string | undefined): string {
  return JSON.stringify([kid ?? null, thumbprint, alg ?? null]);
}
