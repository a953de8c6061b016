import type { ClientCredentialsClient } from "./client-credentials-client.js";
import { sendWithProof } from "./dpop-fetch.js";
import type { DPoPSigner } from "./dpop-key.js";
import type { TokenSelector } from "./types.js";

export interface AuthorizedFetchOptions extends TokenSelector {
  /** The `fetch` that sends the requests. Default the global one. */
  fetch?: typeof fetch | undefined;
}

/** What an authorized request needs from the token client. */
export interface RequestAuthority {
  getToken(selector: TokenSelector): Promise<string>;
  invalidate(selector: TokenSelector & { accessToken: string }): Promise<void>;
  /** The client's DPoP key; without it requests carry `Bearer` tokens. */
  readonly dpop: DPoPSigner | undefined;
}

/**
 * A `fetch` that sends the client's token: `Authorization: Bearer <token>`, or, when the client
 * has a DPoP key, `Authorization: DPoP <token>` with a fresh proof per request (and one more send
 * when the API asks for its nonce). When the API answers 401 with `error="invalid_token"` (revoked,
 * rotated keys, clock trouble) it drops that token, gets a new one and sends the request once
 * more; the body is buffered so the retry can resend it. Any other answer, and the second 401, is
 * returned as is.
 *
 * Pass it to tRPC without this package depending on tRPC:
 * @example
 * ```ts
 * const trpc = createTRPCClient<AppRouter>({
 *   links: [httpBatchLink({ url: env.API_URL, fetch: createAuthorizedFetch(tokens) })],
 * });
 * ```
 */
export function createAuthorizedFetch(
  tokens: Pick<ClientCredentialsClient, "fetch">,
  options: AuthorizedFetchOptions = {},
): typeof fetch {
  return (input, init) => tokens.fetch(input, init, options);
}

/** The request behind `ClientCredentialsClient.fetch`. */
export async function authorizedFetch(
  authority: RequestAuthority,
  options: AuthorizedFetchOptions,
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<Response> {
  const selector: TokenSelector = { audience: options.audience, scope: options.scope };
  const send = options.fetch ?? globalThis.fetch;
  const original = new Request(input, init);
  const { dpop } = authority;
  const attempt = async (accessToken: string) => {
    if (dpop) return sendWithProof(dpop, () => original.clone(), accessToken, send);
    const request = original.clone();
    request.headers.set("authorization", `Bearer ${accessToken}`);
    const response = await send(request);
    return { response, rejectsToken: rejectsBearer(response) };
  };
  const accessToken = await authority.getToken(selector);
  const { response, rejectsToken } = await attempt(accessToken);
  if (!rejectsToken) return response;
  // Not awaited: when the fetch underneath kept a copy of the response (Next's dedupe clones
  // each one), cancelling this branch settles only once the copy is read or dropped, which may
  // be never; the retry must not wait for it.
  response.body?.cancel().catch(() => {});
  await authority.invalidate({ ...selector, accessToken });
  return (await attempt(await authority.getToken(selector))).response;
}

function rejectsBearer(response: Response): boolean {
  if (response.status !== 401) return false;
  const challenge = response.headers.get("www-authenticate") ?? "";
  return /^\s*Bearer\b/i.test(challenge) && /\berror\s*=\s*"?invalid_token"?/i.test(challenge);
}
