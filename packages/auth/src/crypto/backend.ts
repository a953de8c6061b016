/** The public members of a JWK that `validateJwk` accepted: all a signature check needs. */
export type PublicJwk =
  | { kty: "RSA"; n: string; e: string }
  | { kty: "EC"; crv: string; x: string; y: string }
  | { kty: "OKP"; crv: string; x: string };

/** A key prepared for one JWS algorithm: opaque outside the backend that made it. */
export type VerifyKey = object;

/**
 * The runtime's cryptography, as the verifier and the token client use it. Two implementations
 * with the same behaviour: `node.ts` on `node:crypto` and `Buffer` (Node and Bun), `web.ts` on
 * WebCrypto and plain `Uint8Array` (Workers, Vercel Edge, Deno, browsers). The package's `#crypto`
 * import (package.json `imports`) picks one when the package is loaded, by the same export
 * conditions a runtime resolves packages with; nothing checks the runtime while verifying.
 *
 * Key validation stays outside: `validateJwk` decides, with the same code on every runtime, which
 * keys are sound before a backend sees them, since runtimes differ in what they refuse.
 */
export interface CryptoBackend {
  /**
   * Prepares a validated public key for each of `algorithms` (each suits the key's type and
   * curve). Leaves out the algorithms this runtime cannot verify; `undefined` when the runtime
   * refuses the key material itself.
   */
  importPublicKey(
    jwk: PublicJwk,
    algorithms: readonly string[],
  ): Promise<Map<string, VerifyKey> | undefined>;
  /**
   * Checks a JWS signature over `signingInput` (ASCII: the two encoded segments and their dot);
   * `false` for a mismatch, a wrong length or any encoding error. Answers synchronously where the
   * runtime can (`node:crypto`), with a promise where it cannot (WebCrypto).
   */
  verify(
    alg: string,
    key: VerifyKey,
    signingInput: string,
    signature: Uint8Array,
  ): boolean | Promise<boolean>;
  /** The bytes of base64url text whose alphabet and canonical form the caller has checked. */
  decodeBase64url(text: string): Uint8Array;
  /** SHA-256 of the UTF-8 encoding of `text`, as unpadded base64url; synchronous. */
  sha256Base64url(text: string): string;
  /** HMAC-SHA-256 (RFC 2104) of `data` under `key`; synchronous. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
}
