import { requireDpop } from "../trpc.js";

/** What `binding` answers: the key the request proved it holds. */
export interface BindingAnswer {
  /** RFC 7638 thumbprint of the DPoP key, equal to the token's `cnf.jkt`. */
  jkt: string;
}

/**
 * DPoP only (`requireDpop`), whatever the API's `DPOP` mode: the thumbprint of the key the caller
 * proved, so a caller can see that its token is sender-constrained. A bearer token gets 401.
 */
export const binding = requireDpop().query(
  ({ ctx }): BindingAnswer => ({ jkt: ctx.auth.dpop.jkt }),
);
