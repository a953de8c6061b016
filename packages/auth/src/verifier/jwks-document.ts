import { calculateJwkThumbprint, type JWK } from "jose";
import { cryptoBackend } from "#crypto";
import type { SigningKey } from "./algorithms.js";
import type { JwkRejectionReason } from "./types.js";
import { validateJwk } from "./validate-jwk.js";

/** Thrown for a JWKS document that must not replace the keys in use. */
export class InvalidJwksError extends Error {
  override name = "InvalidJwksError";
}

/** Told about each key of the set that {@link validateJwk} refused. */
export type JwkRejected = (kid: string | undefined, reason: JwkRejectionReason) => void;

// A `kid` is reported in logs; a provider's mistake must not turn into one huge log line.
const REPORTED_KID_LENGTH = 100;

const reportedKid = (jwk: Record<string, unknown>): string | undefined =>
  typeof jwk.kid === "string" ? jwk.kid.slice(0, REPORTED_KID_LENGTH) : undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Turns a JWKS document into signing keys usable with the allowed algorithms. Each JWK is checked
 * first ({@link validateJwk}): an invalid or dangerous one (private material, weak RSA exponent or
 * modulus, point off its curve or of small order, `kty`/`crv`/`alg` disagreeing) is dropped and
 * reported through `onRejected`; keys that are not for signatures or unusable with every allowed
 * `alg` are skipped quietly. The rest of the set stays in use: a provider that leaks one private
 * key has compromised that key, and refusing the whole set would keep serving that key's public
 * half from the previous fetch. The document is refused ({@link InvalidJwksError}) when it is not a
 * JWK Set or leaves no usable key. Keys equal to one in `previous` (same `kid`, thumbprint and
 * `alg`) are reused, so each JWK is imported once for the life of the process. A key the runtime's
 * crypto refuses is reported like an invalid one; algorithms the runtime does not implement (Ed448
 * on most WebCrypto implementations) are left out of the key quietly.
 */
export async function readJwksDocument(
  document: unknown,
  algorithms: ReadonlySet<string>,
  previous: readonly SigningKey[],
  onRejected: JwkRejected,
): Promise<SigningKey[]> {
  if (!isRecord(document) || !Array.isArray(document.keys)) {
    throw new InvalidJwksError("The document is not a JWK Set");
  }
  const known = new Map(previous.map((key) => [identity(key.kid, key.thumbprint, key.alg), key]));
  const keys: SigningKey[] = [];
  for (const jwk of document.keys) {
    if (!isRecord(jwk)) throw new InvalidJwksError("A JWK Set entry is not an object");
    const verdict = validateJwk(jwk);
    if ("rejected" in verdict) {
      onRejected(reportedKid(jwk), verdict.rejected);
      continue;
    }
    if ("skipped" in verdict) continue;
    const kid = jwk.kid as string | undefined;
    const jwkAlg = jwk.alg as string | undefined;
    const usable = [...algorithms].filter(
      (alg) =>
        verdict.algorithms.includes(alg) && (jwkAlg === undefined || sameAlgorithm(jwkAlg, alg)),
    );
    if (usable.length === 0) continue;
    const thumbprint = await calculateJwkThumbprint(jwk as JWK);
    const reused = known.get(identity(kid, thumbprint, jwkAlg));
    if (reused !== undefined) {
      keys.push(reused);
      continue;
    }
    const inputs = await cryptoBackend.importPublicKey(verdict.publicJwk, usable);
    if (inputs === undefined) {
      onRejected(reportedKid(jwk), verdict.publicJwk.kty === "RSA" ? "malformed" : "invalid_point");
      continue;
    }
    if (inputs.size > 0) keys.push({ kid, thumbprint, alg: jwkAlg, retired: false, inputs });
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
