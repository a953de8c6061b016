import { createHash } from "node:crypto";
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from "jose";

/** What a resource server learns from a valid DPoP proof. */
export interface CheckedProof {
  /** RFC 7638 thumbprint of the proof's key: must equal the token's `cnf.jkt`. */
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
  readonly nonce: string | undefined;
}

/** Why a proof was refused, in the words of RFC 9449 §4.3. */
export class ProofError extends Error {}

/**
 * Checks a DPoP proof the way RFC 9449 §4.3 tells a resource server to, with jose and nothing of
 * the client under test: a `dpop+jwt` signed by the public key in its own header (never a private
 * one), `htm` and `htu` (without query and fragment) of this request, `ath` of this token, a
 * recent `iat` and a `jti`.
 */
export async function checkProof(
  proof: string,
  request: { method: string; url: string; accessToken?: string | undefined },
): Promise<CheckedProof> {
  let verified: Awaited<ReturnType<typeof jwtVerify>>;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: "dpop+jwt",
      algorithms: ["ES256", "ES384", "EdDSA", "Ed25519", "RS256", "PS256"],
    });
  } catch (err) {
    throw new ProofError(`signature or header: ${(err as Error).message}`);
  }
  const { payload, protectedHeader } = verified;
  const jwk = protectedHeader.jwk;
  if (!jwk || "d" in jwk) throw new ProofError("jwk must be a public key");
  const target = new URL(request.url);
  target.search = "";
  target.hash = "";
  if (payload.htm !== request.method) throw new ProofError("htm");
  if (payload.htu !== target.href) throw new ProofError("htu");
  if (request.accessToken !== undefined) {
    const ath = createHash("sha256").update(request.accessToken).digest("base64url");
    if (payload.ath !== ath) throw new ProofError("ath");
  }
  if (typeof payload.iat !== "number" || Math.abs(Date.now() / 1000 - payload.iat) > 60) {
    throw new ProofError("iat");
  }
  if (typeof payload.jti !== "string" || payload.jti.length < 16) throw new ProofError("jti");
  const nonce = typeof payload.nonce === "string" ? payload.nonce : undefined;
  return { jkt: await calculateJwkThumbprint(jwk), jti: payload.jti, iat: payload.iat, nonce };
}
