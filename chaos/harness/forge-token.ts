import { randomUUID } from "node:crypto";
import { claimsFor, generateTestKey, signToken } from "@repo/test-utils";

export interface Forger {
  /** A well-formed RS256 token for `audience`/`issuer`, signed by a key the issuer never published. */
  sign(claims: { issuer: string; audience: string; kid?: string }): Promise<string>;
}

const LIFETIME_S = 300;

/** Mints tokens an attacker could: correct claims, a key of its own, any `kid`. */
export async function createForger(): Promise<Forger> {
  const key = generateTestKey("forger");
  return {
    async sign({ issuer, audience, kid = randomUUID() }) {
      // Every other token also carries the key itself (`jwk`), which the verifier must ignore.
      const embed = kid.length % 2 === 0;
      const now = Math.floor(Date.now() / 1000);
      return signToken(key, {
        header: { kid, ...(embed ? { jwk: key.publicJwk } : {}) },
        payload: claimsFor(issuer, audience, now, {
          sub: "attacker@clients",
          iat: now,
          exp: now + LIFETIME_S,
        }),
      });
    },
  };
}
