import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";

/** A key pair with its public JWK as a JWKS would publish it. */
export interface TestKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: Record<string, unknown>;
}

type KeySpec =
  | { alg: "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512"; bits?: number }
  | { alg: "ES256" | "ES384" | "ES512" }
  | { alg: "EdDSA" | "Ed25519" };

const CURVES = { ES256: "P-256", ES384: "P-384", ES512: "P-521" } as const;

/** Generates a key pair for `alg` (RSA 2048 bits unless told otherwise). */
export function generateTestKey(kid: string, spec: KeySpec = { alg: "RS256" }): TestKey {
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
    return sign(hash, data, { key, padding: 6, saltLength: -1 });
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

/** Standard valid claims for `issuer`/`audience` at `nowSeconds`. */
export function claimsFor(
  issuer: string,
  audience: string | string[],
  nowSeconds: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    iss: issuer,
    sub: "client-1@clients",
    aud: audience,
    iat: nowSeconds - 10,
    exp: nowSeconds + 3600,
    scope: "read:items write:items",
    azp: "client-1",
    gty: "client-credentials",
    ...extra,
  };
}
