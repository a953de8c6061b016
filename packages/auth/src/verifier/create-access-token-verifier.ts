import { parseAuthorizationHeader } from "../http.js";
import { resolveVerifierOptions } from "./resolve-options.js";
import type {
  AccessTokenClaims,
  AccessTokenVerifier,
  AccessTokenVerifierOptions,
  VerifierHealth,
} from "./types.js";

/**
 * Builds an access-token verifier. Build it once per process and share it: it holds the JWKS key
 * store and the verified-token cache.
 *
 * @example
 * ```ts
 * const verifier = createAccessTokenVerifier({
 *   issuerBaseURL: "https://tenant.eu.auth0.com/",
 *   audience: "https://api.example.com",
 * });
 * await verifier.warmUp();
 * const claims = await verifier.authenticate(request.headers.get("authorization"));
 * ```
 */
export function createAccessTokenVerifier(
  options: AccessTokenVerifierOptions,
): AccessTokenVerifier {
  resolveVerifierOptions(options);
  const notReady = (): never => {
    throw new Error("createAccessTokenVerifier: verification is not implemented yet");
  };
  const health = (): VerifierHealth => ({ state: "down", keys: 0, lastRefreshAt: null });
  return {
    verify: async (_token: string): Promise<AccessTokenClaims> => notReady(),
    authenticate: async (authorization) => {
      parseAuthorizationHeader(authorization);
      return notReady();
    },
    warmUp: async () => health(),
    health,
    close: () => {},
  };
}
