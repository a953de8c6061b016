import type { ClientCredentialsClient } from "./client-credentials-client.js";
import type { TokenSelector } from "./types.js";

export interface AuthorizedFetchOptions extends TokenSelector {
  /** The `fetch` that sends the requests. Default the global one. */
  fetch?: typeof fetch | undefined;
}

/**
 * A `fetch` that sends `Authorization: Bearer <token>` from the client. When the API answers 401
 * with `error="invalid_token"` (revoked, rotated keys, clock trouble) it drops that token, gets a
 * new one and sends the request once more; the body is buffered so the retry can resend it.
 * Any other answer, and the second 401, is returned as is.
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
  tokens: Pick<ClientCredentialsClient, "getToken" | "invalidate">,
  options: AuthorizedFetchOptions = {},
): typeof fetch {
  const selector: TokenSelector = { audience: options.audience, scope: options.scope };
  return async (input, init) => {
    const send = options.fetch ?? globalThis.fetch;
    const original = new Request(input, init);
    const attempt = async (accessToken: string) => {
      const request = original.clone();
      request.headers.set("authorization", `Bearer ${accessToken}`);
      return send(request);
    };
    const accessToken = await tokens.getToken(selector);
    const response = await attempt(accessToken);
    if (!rejectsToken(response)) return response;
    // Not awaited: when the fetch underneath kept a copy of the response (Next's dedupe clones
    // each one), cancelling this branch settles only once the copy is read or dropped, which may
    // be never; the retry must not wait for it.
    response.body?.cancel().catch(() => {});
    await tokens.invalidate({ ...selector, accessToken });
    return attempt(await tokens.getToken(selector));
  };
}

function rejectsToken(response: Response): boolean {
  if (response.status !== 401) return false;
  const challenge = response.headers.get("www-authenticate") ?? "";
  return /^\s*Bearer\b/i.test(challenge) && /\berror\s*=\s*"?invalid_token"?/i.test(challenge);
}
