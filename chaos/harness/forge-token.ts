import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

export interface Forger {
  /** A well-formed RS256 token for `audience`/`issuer`, signed by a key the issuer never published. */
  sign(claims: { issuer: string; audience: string; kid?: string } & JWTPayload): Promise<string>;
}

/** Mints tokens an attacker could: correct claims, a key of its own, any `kid`. */
export async function createForger(): Promise<Forger> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { modulusLength: 2048 });
  // Exported once so the forged header can also carry the key itself (`jwk`), which must be ignored.
  const jwk = await exportJWK(publicKey);
  return {
    async sign({ issuer, audience, kid = randomUUID(), ...claims }) {
      const embed = kid.length % 2 === 0;
      return new SignJWT({ scope: "read:items write:items", ...claims })
        .setProtectedHeader({ alg: "RS256", typ: "JWT", kid, ...(embed ? { jwk } : {}) })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject("attacker@clients")
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(privateKey);
    },
  };
}
