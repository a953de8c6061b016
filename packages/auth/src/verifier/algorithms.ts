import { constants, type KeyObject, type VerifyKeyObjectInput, verify } from "node:crypto";

/** How one JWS `alg` is checked with `node:crypto`. */
interface AlgorithmSpec {
  /** Digest for `crypto.verify`; `null` for EdDSA (the curve fixes it). */
  hash: string | null;
  family: "rsa" | "rsa-pss" | "ec" | "okp";
  /** For ES*: the curve name Node reports, and the raw (r || s) signature length. */
  curve?: string;
  signatureLength?: number;
  /** For EdDSA: the acceptable curves. */
  curves?: readonly string[];
}

// A Map: `alg` comes from a token header, and a name such as "constructor" must not find an
// Object.prototype member.
const SPECS: ReadonlyMap<string, AlgorithmSpec> = new Map(
  Object.entries({
    RS256: { hash: "sha256", family: "rsa" },
    RS384: { hash: "sha384", family: "rsa" },
    RS512: { hash: "sha512", family: "rsa" },
    PS256: { hash: "sha256", family: "rsa-pss" },
    PS384: { hash: "sha384", family: "rsa-pss" },
    PS512: { hash: "sha512", family: "rsa-pss" },
    ES256: { hash: "sha256", family: "ec", curve: "prime256v1", signatureLength: 64 },
    ES384: { hash: "sha384", family: "ec", curve: "secp384r1", signatureLength: 96 },
    ES512: { hash: "sha512", family: "ec", curve: "secp521r1", signatureLength: 132 },
    EdDSA: { hash: null, family: "okp", curves: ["ed25519", "ed448"] },
    Ed25519: { hash: null, family: "okp", curves: ["ed25519"] },
  } satisfies Record<string, AlgorithmSpec>),
);

/** A public key imported once, with the `crypto.verify` inputs prepared for each usable `alg`. */
export interface SigningKey {
  kid: string | undefined;
  /** JWK thumbprint (RFC 7638): the key's identity across JWKS refreshes. */
  thumbprint: string;
  /** The JWK's own `alg`, when it names one. */
  alg: string | undefined;
  keyObject: KeyObject;
  /** Set when a refresh no longer lists the key; cached tokens it verified are then dropped. */
  retired: boolean;
  /** `alg` → the key argument of `crypto.verify`, for the algorithms this key may be used with. */
  inputs: ReadonlyMap<string, KeyObject | VerifyKeyObjectInput>;
}

/** Whether `keyObject` suits `alg`; returns the `crypto.verify` key argument or `undefined`. */
export function verifyInputFor(
  alg: string,
  keyObject: KeyObject,
): KeyObject | VerifyKeyObjectInput | undefined {
  const spec = SPECS.get(alg);
  if (spec === undefined) return undefined;
  const type = keyObject.asymmetricKeyType;
  switch (spec.family) {
    case "rsa":
      return type === "rsa" ? keyObject : undefined;
    case "rsa-pss":
      return type === "rsa"
        ? {
            key: keyObject,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
          }
        : undefined;
    case "ec":
      return type === "ec" && keyObject.asymmetricKeyDetails?.namedCurve === spec.curve
        ? { key: keyObject, dsaEncoding: "ieee-p1363" }
        : undefined;
    case "okp":
      return type !== undefined && spec.curves?.includes(type) ? keyObject : undefined;
  }
}

/** Checks a JWS signature; `false` for any mismatch, wrong length or encoding. */
export function verifySignature(
  alg: string,
  input: KeyObject | VerifyKeyObjectInput,
  signingInput: Buffer,
  signature: Buffer,
): boolean {
  const spec = SPECS.get(alg);
  if (spec === undefined) return false;
  if (spec.signatureLength !== undefined && signature.length !== spec.signatureLength) return false;
  try {
    return verify(spec.hash, signingInput, input, signature);
  } catch {
    // OpenSSL rejects some malformed signatures by throwing rather than returning false.
    return false;
  }
}
