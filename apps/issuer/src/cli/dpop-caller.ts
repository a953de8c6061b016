import * as oauth from "oauth4webapi";
import type { Tenant } from "../tenant.js";
import {
  grantParameters,
  secretClient,
  type TokenRequest,
  TokenRequestError,
} from "../token-request.js";

/** A DPoP-bound token and the key it is bound to, for the commands. */
export interface DpopCaller {
  readonly accessToken: string;
  /**
   * Sends a request with `Authorization: DPoP` and a fresh proof; when the server answers
   * `use_dpop_nonce`, once more with the nonce it gave (RFC 9449 §9).
   */
  send(method: string, url: URL, body?: string): Promise<Response>;
  /** A fresh proof for one request to `url`, to paste into a command line. */
  proof(method: string, url: URL): Promise<string>;
}

/**
 * Gets a DPoP-bound token for a tenant client from a running issuer, with a key made for this
 * command (it dies with it). oauth4webapi builds every proof and keeps each server's nonce.
 */
export async function dpopCaller(
  tokenEndpoint: string,
  tenant: Tenant,
  request: TokenRequest & { clientId: string },
): Promise<DpopCaller> {
  const { client: tenantClient, clientSecret } = secretClient(tenant, request.clientId);
  const client: oauth.Client = { client_id: tenantClient.clientId };
  const endpoint = new URL(tokenEndpoint);
  const as: oauth.AuthorizationServer = { issuer: endpoint.origin, token_endpoint: endpoint.href };
  const keyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ]);
  const handle = oauth.DPoP(client, keyPair);
  const insecure = (url: URL) => ({ [oauth.allowInsecureRequests]: url.protocol === "http:" });

  const grant = async () => {
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretPost(clientSecret),
      new URLSearchParams(grantParameters(tenantClient, request)),
      { DPoP: handle, ...insecure(endpoint) },
    );
    return oauth.processClientCredentialsResponse(as, client, response);
  };
  let token: oauth.TokenEndpointResponse;
  try {
    token = await grant().catch((err: unknown) => {
      if (oauth.isDPoPNonceError(err)) return grant();
      throw err;
    });
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError) {
      throw new TokenRequestError(err.status, err.error, err.error_description);
    }
    throw err;
  }
  const accessToken = token.access_token;

  // oauth4webapi makes a proof as it sends a request: `sending` decides what happens to it.
  const withProof = (
    method: string,
    url: URL,
    sending: (headers: Record<string, string>) => Promise<Response>,
  ) =>
    oauth.protectedResourceRequest(accessToken, method, url, undefined, undefined, {
      DPoP: handle,
      ...insecure(url),
      [oauth.customFetch]: (_url, built) => sending(built.headers),
    });

  const sendOnce = async (method: string, url: URL, body: string | undefined) => {
    const json: Record<string, string> =
      body === undefined ? {} : { "content-type": "application/json" };
    try {
      const response = await withProof(method, url, (headers) =>
        fetch(url, { method, body, headers: { ...headers, ...json } }),
      );
      return { response, nonceAsked: false };
    } catch (err) {
      // Every answer with a challenge comes back as this error; the command prints it.
      if (!(err instanceof oauth.WWWAuthenticateChallengeError)) throw err;
      return { response: err.response, nonceAsked: oauth.isDPoPNonceError(err) };
    }
  };

  return {
    accessToken,
    async send(method, url, body) {
      const first = await sendOnce(method, url, body);
      if (!first.nonceAsked) return first.response;
      await first.response.body?.cancel();
      return (await sendOnce(method, url, body)).response;
    },
    async proof(method, url) {
      let proof = "";
      await withProof(method, url, async (headers) => {
        proof = headers.dpop ?? "";
        return new Response(null, { status: 204 });
      });
      return proof;
    },
  };
}
