import { createHash, randomUUID } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { signToken } from "./sign-token.js";
import type { TestKey } from "./test-key.js";

/** What a test proof says; each part can be changed or left out (`undefined` drops a claim). */
export interface ProofSpec {
  /** The `htu`: the request's URL (query and fragment are the caller's to leave out). */
  url?: string;
  /** The `htm`; default `GET`. */
  method?: string;
  /** The token whose hash goes in `ath`. */
  accessToken?: string;
  /** Seconds since the epoch. */
  iat?: number;
  jti?: string;
  nonce?: string;
  header?: Record<string, unknown>;
  payload?: Record<string, unknown>;
}

/** A key's public members, as a proof's `jwk` carries them. */
export function publicMembers(key: TestKey): Record<string, unknown> {
  const { kty, crv, x, y, n, e } = key.publicJwk;
  return Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e }).filter(([, value]) => value !== undefined),
  );
}

/** RFC 7638 thumbprint of a test key, computed by jose. */
export const thumbprintOf = (key: TestKey): Promise<string> =>
  calculateJwkThumbprint(publicMembers(key) as JWK);

/** base64url SHA-256 of a token: a proof's `ath`. */
export const athOf = (token: string): string =>
  createHash("sha256").update(token).digest("base64url");

/**
 * A DPoP proof (RFC 9449 §4.2) signed with `key`, built by hand with the test signer, not by the
 * code under test: `typ: dpop+jwt`, the key's public `jwk`, a random `jti`, `ath` of
 * `accessToken`. Header and payload members can be replaced or dropped to build bad proofs.
 */
export function signProof(key: TestKey, spec: ProofSpec): string {
  const payload: Record<string, unknown> = {
    jti: spec.jti ?? randomUUID(),
    htm: spec.method ?? "GET",
    htu: spec.url,
    iat: spec.iat,
    ath: spec.accessToken === undefined ? undefined : athOf(spec.accessToken),
    nonce: spec.nonce,
    ...spec.payload,
  };
  return signToken(key, {
    header: { typ: "dpop+jwt", kid: undefined, jwk: publicMembers(key), ...spec.header },
    payload,
  });
}
