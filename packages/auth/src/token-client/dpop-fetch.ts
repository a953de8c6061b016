import * as oauth from "oauth4webapi";
import type { DPoPSigner } from "./dpop-key.js";

/** A resource server's answer to a DPoP-authorized request. */
export interface ProofAnswer {
  readonly response: Response;
  /**
   * The server refused the token itself: 401 with a challenge `error="invalid_token"`, `DPoP` as
   * RFC 9449 §7.1 has it, or `Bearer` from a server that speaks of tokens in that scheme only.
   */
  readonly rejectsToken: boolean;
}

/**
 * Sends a request with `Authorization: DPoP <token>` and a fresh proof for it (RFC 9449 §7:
 * `htm`, `htu` without query or fragment, `ath`, `iat`, a new `jti`, the server's last nonce for
 * that origin), built by oauth4webapi. A `DPoP-Nonce` header on any answer is remembered for the
 * origin; a 401 `use_dpop_nonce` challenge (§9) is answered by sending once more with the new
 * nonce. `request` gives a fresh copy of the request for each send.
 */
export async function sendWithProof(
  signer: DPoPSigner,
  request: () => Request,
  accessToken: string,
  send: typeof fetch,
): Promise<ProofAnswer> {
  const { handle } = await signer.key();
  const once = async () => {
    const outgoing = request();
    const url = new URL(outgoing.url);
    try {
      const response = await oauth.protectedResourceRequest(
        accessToken,
        outgoing.method,
        url,
        undefined,
        undefined,
        {
          DPoP: handle,
          [oauth.allowInsecureRequests]: url.protocol === "http:",
          // The request goes out as the caller built it (body, signal, redirect mode), with the
          // two headers oauth4webapi made.
          [oauth.customFetch]: (_url, built) => {
            outgoing.headers.set("authorization", built.headers.authorization ?? "");
            outgoing.headers.set("dpop", built.headers.dpop ?? "");
            signer.counts.proofs++;
            return send(outgoing);
          },
        },
      );
      return { response, challenges: [] as oauth.WWWAuthenticateChallenge[] };
    } catch (err) {
      // Any answer with a challenge comes back as this error; the caller gets the answer.
      if (!(err instanceof oauth.WWWAuthenticateChallengeError)) throw err;
      const nonce = oauth.isDPoPNonceError(err) && err.response.headers.has("dpop-nonce");
      return { response: err.response, challenges: err.cause, nonce };
    }
  };

  let answer = await once();
  if (answer.nonce) {
    answer.response.body?.cancel().catch(() => {});
    signer.counts.nonceRetries++;
    answer = await once();
  }
  const { response, challenges } = answer;
  return {
    response,
    rejectsToken:
      response.status === 401 && challenges.some((c) => c.parameters.error === "invalid_token"),
  };
}
