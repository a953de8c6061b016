import type { ClientCredentials, Provider, TokenEndpointGrantContext } from "oidc-provider";
import { errors } from "oidc-provider";
// oidc-provider's helpers for custom grants: the checks its own grants make.
import {
  checkDpopReplay,
  type DPoPValidationResult,
  validateDpop,
} from "oidc-provider/lib/helpers/grants.js";

/** A DPoP proof that passed every check: its key's RFC 7638 thumbprint and its `jti`. */
export type DpopProof = DPoPValidationResult;

/**
 * RFC 9449 at the token endpoint, with oidc-provider's own checks (`features.dPoP`): the custom
 * client-credentials grant replaces the built-in one, so it makes the calls the built-in one makes.
 */
export const dpopBinding = {
  /**
   * The request's proof, checked (signature, `typ`, `htm`, `htu`, `iat`, server nonce), or
   * `undefined` without a `DPoP` header. Throws `invalid_dpop_proof` or `use_dpop_nonce` (with a
   * `DPoP-Nonce` header). Runs first, before anything else is looked at, as in the built-in grants.
   */
  readProof(provider: Provider, ctx: TokenEndpointGrantContext): Promise<DpopProof | undefined> {
    return validateDpop(provider, ctx);
  },

  /**
   * Binds `token` to the proof's key (`cnf.jkt`, `token_type: DPoP`) after refusing a replayed
   * proof, and refuses a client registered with `dpop_bound_access_tokens` that sent none. That
   * refusal is a 400 `invalid_request` that says why (oidc-provider's own check answers an
   * `invalid_grant` whose description does not).
   */
  async bind(
    provider: Provider,
    ctx: TokenEndpointGrantContext,
    proof: DpopProof | undefined,
    token: ClientCredentials,
  ): Promise<void> {
    const { client } = ctx.oidc;
    if (!proof) {
      if (client.dpopBoundAccessTokens) {
        throw new errors.InvalidRequest(
          "a DPoP proof is required: this client's tokens are DPoP-bound",
        );
      }
      return;
    }
    await checkDpopReplay(provider, ctx, proof, client.clientId);
    token.setThumbprint("jkt", proof.thumbprint);
  },
};
