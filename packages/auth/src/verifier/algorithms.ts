import type { VerifyKey } from "../crypto/backend.js";

/** A public key imported once, prepared for each `alg` it may verify. */
export interface SigningKey {
  kid: string | undefined;
  /** JWK thumbprint (RFC 7638): the key's identity across JWKS refreshes. */
  thumbprint: string;
  /** The JWK's own `alg`, when it names one. */
  alg: string | undefined;
  /** Set when a refresh no longer lists the key; cached tokens it verified are then dropped. */
  retired: boolean;
  /** `alg` → the key as the crypto backend prepared it, for the algorithms this key may verify. */
  inputs: ReadonlyMap<string, VerifyKey>;
}
