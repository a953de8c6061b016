import {
  constants,
  createHash,
  createHmac,
  createPublicKey,
  type JsonWebKey,
  type KeyObject,
  type VerifyKeyObjectInput,
  verify,
} from "node:crypto";
import type { CryptoBackend, VerifyKey } from "./backend.js";
import { rsaSignatureLength } from "./rsa-signature-length.js";

/** How one JWS `alg` is checked with `crypto.verify`. */
interface AlgorithmSpec {
  /** Digest for `crypto.verify`; `null` for EdDSA (the curve fixes it). */
  hash: string | null;
  /** The `crypto.verify` key argument for a key object. */
  input: (key: KeyObject) => KeyObject | VerifyKeyObjectInput;
  /** For ES*: the raw (r || s) signature length. */
  signatureLength?: number;
  /** RS* and PS*: the signature is as long as the key's modulus. */
  rsa?: true;
}

const plain = (key: KeyObject) => key;
const pss = (key: KeyObject): VerifyKeyObjectInput => ({
  key,
  padding: constants.RSA_PKCS1_PSS_PADDING,
  saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
});
const ieeeP1363 = (key: KeyObject): VerifyKeyObjectInput => ({ key, dsaEncoding: "ieee-p1363" });

// A Map: `alg` comes from a token header, and a name such as "constructor" must not find an
// Object.prototype member.
const SPECS: ReadonlyMap<string, AlgorithmSpec> = new Map(
  Object.entries({
    RS256: { hash: "sha256", input: plain, rsa: true },
    RS384: { hash: "sha384", input: plain, rsa: true },
    RS512: { hash: "sha512", input: plain, rsa: true },
    PS256: { hash: "sha256", input: pss, rsa: true },
    PS384: { hash: "sha384", input: pss, rsa: true },
    PS512: { hash: "sha512", input: pss, rsa: true },
    ES256: { hash: "sha256", input: ieeeP1363, signatureLength: 64 },
    ES384: { hash: "sha384", input: ieeeP1363, signatureLength: 96 },
    ES512: { hash: "sha512", input: ieeeP1363, signatureLength: 132 },
    EdDSA: { hash: null, input: plain },
    Ed25519: { hash: null, input: plain },
  } satisfies Record<string, AlgorithmSpec>),
);

// The modulus length of each prepared RSA key, by the object `verify` receives.
const rsaLengths = new WeakMap<VerifyKey, number>();
// The signing input is written into one reused buffer rather than a new one per check:
// `crypto.verify` is synchronous and keeps nothing, so the buffer is free again when it returns.
const scratch = Buffer.allocUnsafe(16_384);
function latin1Bytes(text: string): Buffer {
  if (text.length > scratch.length) return Buffer.from(text, "latin1");
  return scratch.subarray(0, scratch.write(text, 0, "latin1"));
}

/** `node:crypto` and `Buffer`: Node, and Bun (which implements both natively). */
export const cryptoBackend: CryptoBackend = {
  async importPublicKey(jwk, algorithms) {
    let keyObject: KeyObject;
    try {
      keyObject = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
    } catch {
      return undefined;
    }
    const keys = new Map<string, VerifyKey>();
    for (const alg of algorithms) {
      const spec = SPECS.get(alg);
      if (spec === undefined) continue;
      const key = spec.input(keyObject);
      if (spec.rsa && jwk.kty === "RSA") rsaLengths.set(key, rsaSignatureLength(jwk.n));
      keys.set(alg, key);
    }
    return keys;
  },

  verify(alg, key, signingInput, signature) {
    const spec = SPECS.get(alg);
    if (spec === undefined) return false;
    if (spec.signatureLength !== undefined && signature.length !== spec.signatureLength) {
      return false;
    }
    if (spec.rsa && signature.length !== rsaLengths.get(key)) return false;
    try {
      return verify(
        spec.hash,
        latin1Bytes(signingInput),
        key as KeyObject | VerifyKeyObjectInput,
        signature,
      );
    } catch {
      // OpenSSL rejects some malformed signatures by throwing rather than returning false.
      return false;
    }
  },

  decodeBase64url: (text) => Buffer.from(text, "base64url"),

  sha256Base64url: (text) => createHash("sha256").update(text).digest("base64url"),

  hmacSha256: (key, data) => createHmac("sha256", key).update(data).digest(),
};
