import type { CryptoBackend, PublicJwk, VerifyKey } from "./backend.js";
import { decodeBase64urlBytes, encodeBase64url } from "./base64url-codec.js";
import { rsaSignatureLength } from "./rsa-signature-length.js";
import { hmacSha256, sha256 } from "./sha256.js";

// The WebCrypto types, named from the global `crypto` (this package's types do not include the DOM).
type Subtle = typeof crypto.subtle;
type ImportParams = Parameters<Subtle["importKey"]>[2];
type VerifyParams = Parameters<Subtle["verify"]>[0];
type CryptoKey = Awaited<ReturnType<Subtle["importKey"]>>;

/** How one JWS `alg` is imported and checked with WebCrypto (RFC 7518 §3, RFC 8037). */
interface AlgorithmSpec {
  importParams: (jwk: PublicJwk) => ImportParams;
  verifyParams: (jwk: PublicJwk) => VerifyParams;
  /** For ES*: the raw (r || s) signature length. */
  signatureLength?: number;
}

/** A WebCrypto key with what `crypto.subtle.verify` needs besides it. */
interface WebVerifyKey {
  key: CryptoKey;
  params: VerifyParams;
  signatureLength: number | undefined;
}

const pkcs1 = (hash: string): AlgorithmSpec => ({
  importParams: () => ({ name: "RSASSA-PKCS1-v1_5", hash }),
  verifyParams: () => ({ name: "RSASSA-PKCS1-v1_5" }),
});
// RFC 7518 §3.5: the salt is as long as the digest.
const pss = (hash: string, saltLength: number): AlgorithmSpec => ({
  importParams: () => ({ name: "RSA-PSS", hash }),
  verifyParams: () => ({ name: "RSA-PSS", saltLength }),
});
const ecdsa = (namedCurve: string, hash: string, signatureLength: number): AlgorithmSpec => ({
  importParams: () => ({ name: "ECDSA", namedCurve }),
  verifyParams: () => ({ name: "ECDSA", hash }),
  signatureLength,
});
// EdDSA names the curve through the key: Ed25519 or Ed448.
const edwards: AlgorithmSpec = {
  importParams: (jwk) => ({ name: "crv" in jwk ? jwk.crv : "" }),
  verifyParams: (jwk) => ({ name: "crv" in jwk ? jwk.crv : "" }),
};

// A Map: `alg` comes from a token header, and a name such as "constructor" must not find an
// Object.prototype member.
const SPECS: ReadonlyMap<string, AlgorithmSpec> = new Map(
  Object.entries({
    RS256: pkcs1("SHA-256"),
    RS384: pkcs1("SHA-384"),
    RS512: pkcs1("SHA-512"),
    PS256: pss("SHA-256", 32),
    PS384: pss("SHA-384", 48),
    PS512: pss("SHA-512", 64),
    ES256: ecdsa("P-256", "SHA-256", 64),
    ES384: ecdsa("P-384", "SHA-384", 96),
    ES512: ecdsa("P-521", "SHA-512", 132),
    EdDSA: edwards,
    Ed25519: edwards,
  } satisfies Record<string, AlgorithmSpec>),
);

const utf8 = new TextEncoder();

/** Whether WebCrypto refused an algorithm or curve it does not implement, rather than the key. */
const isUnsupported = (error: unknown): boolean =>
  error instanceof Error && error.name === "NotSupportedError";

/** WebCrypto and `Uint8Array`: Cloudflare Workers, Vercel Edge, Deno, browsers. */
export const cryptoBackend: CryptoBackend = {
  async importPublicKey(jwk, algorithms) {
    const keys = new Map<string, VerifyKey>();
    for (const alg of algorithms) {
      const spec = SPECS.get(alg);
      if (spec === undefined) continue;
      let key: CryptoKey;
      try {
        key = await crypto.subtle.importKey("jwk", jwk, spec.importParams(jwk), false, ["verify"]);
      } catch (error) {
        if (isUnsupported(error)) continue;
        return undefined;
      }
      const prepared: WebVerifyKey = {
        key,
        params: spec.verifyParams(jwk),
        // RS* and PS*: as long as the modulus; ES*: r || s.
        signatureLength: jwk.kty === "RSA" ? rsaSignatureLength(jwk.n) : spec.signatureLength,
      };
      keys.set(alg, prepared);
    }
    return keys;
  },

  async verify(_alg, key, signingInput, signature) {
    const { key: cryptoKey, params, signatureLength } = key as WebVerifyKey;
    if (signatureLength !== undefined && signature.length !== signatureLength) return false;
    try {
      return await crypto.subtle.verify(
        params,
        cryptoKey,
        signature as Uint8Array<ArrayBuffer>,
        utf8.encode(signingInput),
      );
    } catch {
      return false;
    }
  },

  decodeBase64url: decodeBase64urlBytes,

  sha256Base64url: (text) => encodeBase64url(sha256(utf8.encode(text))),

  hmacSha256,
};
