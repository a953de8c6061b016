import { generateKeyPairSync, type KeyObject } from "node:crypto";

/** A key pair with its public JWK as a JWKS would publish it. */
export interface TestKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

export type TestKeySpec =
  | { alg: "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512"; bits?: number }
  | { alg: "ES256" | "ES384" | "ES512" }
  | { alg: "EdDSA" | "Ed25519" };

const CURVES = { ES256: "P-256", ES384: "P-384", ES512: "P-521" } as const;

/** Generates a key pair for `alg` (RSA 2048 bits unless told otherwise). */
export function generateTestKey(kid: string, spec: TestKeySpec = { alg: "RS256" }): TestKey {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  if (spec.alg.startsWith("RS") || spec.alg.startsWith("PS")) {
    pair = generateKeyPairSync("rsa", {
      modulusLength: "bits" in spec && spec.bits ? spec.bits : 2048,
    });
  } else if (spec.alg in CURVES) {
    pair = generateKeyPairSync("ec", { namedCurve: CURVES[spec.alg as keyof typeof CURVES] });
  } else {
    pair = generateKeyPairSync("ed25519");
  }
  const publicJwk = { ...pair.publicKey.export({ format: "jwk" }), kid, alg: spec.alg, use: "sig" };
  return { kid, alg: spec.alg, ...pair, publicJwk };
}
