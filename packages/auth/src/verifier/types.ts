import type { AuthErrorCode, DpopProofReason, InvalidTokenReason } from "../errors.js";
import type { DpopChallengeOptions, DpopMode } from "../http.js";
import type { DpopNonceOptions } from "./dpop-nonce.js";
import type { DpopReplayStore } from "./dpop-replay-store.js";

/** Signature algorithms the verifier accepts in its allow-list (asymmetric only: never `none` or HS*). */
export const SUPPORTED_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;

/** One of {@link SUPPORTED_ALGORITHMS}. */
export type VerifierAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

/** The verified claims of an access token. Unknown claims are kept as `unknown`. */
export interface AccessTokenClaims {
  /** Issuer; equal to the configured issuer. */
  iss: string;
  /** Subject; for client-credentials tokens the client (Auth0: `<client_id>@clients`). */
  sub: string;
  /** Audience(s); contains one of the configured audiences. */
  aud: string | string[];
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Issued at, seconds since the epoch. */
  iat?: number;
  /** Not before, seconds since the epoch. */
  nbf?: number;
  /** Token identifier. */
  jti?: string;
  /** Space-separated granted scopes. */
  scope?: string;
  /** Auth0 RBAC permissions. */
  permissions?: string[];
  /** Authorized party (Auth0: the client ID). */
  azp?: string;
  /** Client ID (RFC 9068). */
  client_id?: string;
  /** Auth0 grant type (`client-credentials` for M2M tokens). */
  gty?: string;
  [claim: string]: unknown;
}

/** The protected header of a token, after parsing. */
export interface AccessTokenHeader {
  alg: string;
  kid?: string;
  typ?: string;
  [parameter: string]: unknown;
}

/**
 * A custom check of one claim: a literal the claim must equal, or a function returning `true` to
 * accept. Functions run after the signature and the standard claims are checked.
 */
export type ClaimValidator =
  | string
  | number
  | boolean
  | ((
      value: unknown,
      claims: Readonly<AccessTokenClaims>,
      header: Readonly<AccessTokenHeader>,
    ) => boolean);

/** How to accept plain `http:` URLs for discovery and the JWKS. */
export type InsecureHttpPolicy = "loopback" | boolean;

/** Options of {@link createAccessTokenVerifier}. Durations in milliseconds unless said otherwise. */
export interface AccessTokenVerifierOptions {
  /**
   * The authorization server's base URL. Discovery reads
   * `<issuerBaseURL>/.well-known/openid-configuration`, then
   * `/.well-known/oauth-authorization-server`, for `issuer` and `jwks_uri`. Give `issuer` and
   * `jwksUri` instead to skip discovery.
   */
  issuerBaseURL?: string | URL;
  /**
   * Exact expected `iss`. With discovery, the metadata's `issuer` must equal it; without `issuer`,
   * it must equal `issuerBaseURL` (as parsed: `https://tenant.example.com` reads as
   * `https://tenant.example.com/`). One trailing slash of difference is tolerated, since users
   * write a provider's address both ways; the metadata's spelling is then the `iss` required.
   * Metadata naming any other issuer is never used: the keys stay unavailable (503) until it is
   * fixed.
   */
  issuer?: string;
  /** The JWKS URL. Skips discovery when given with `issuer`. */
  jwksUri?: string | URL;
  /** This API's identifier(s); the token's `aud` must contain one of them. */
  audience: string | readonly string[];
  /** Accepted `alg` values. Default `["RS256"]`. `none` and `HS*` are refused at construction. */
  algorithms?: readonly VerifierAlgorithm[];
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default `5`. */
  clockTolerance?: number;
  /** Claims that must be present besides `iss`, `sub`, `aud` and `exp` (always required). */
  requiredClaims?: readonly string[];
  /** Maximum age of the token since `iat`, in seconds (then `iat` is required). Default: none. */
  maxTokenAge?: number;
  /**
   * RFC 9068 profile: `typ` must be `at+jwt` (or `application/at+jwt`), and `iat`, `jti` and
   * `client_id` are required. Default `false` (Auth0 issues `typ: "JWT"`).
   */
  strict?: boolean;
  /** Custom claim checks, keyed by claim name. */
  validators?: Readonly<Record<string, ClaimValidator>>;
  /** Longest token accepted, in characters; longer ones are refused before parsing. Default 8192. */
  maxTokenLength?: number;

  /**
   * How long fetched keys count as fresh. They are refreshed in the background before they age out.
   * Default 600 000 (10 min).
   */
  jwksCacheMaxAge?: number;
  /**
   * How long past `jwksCacheMaxAge` the last good keys stay in use while the JWKS endpoint fails.
   * After that, verification answers {@link KeysUnavailableError} (503). Default 3 600 000 (1 h).
   */
  jwksMaxStaleness?: number;
  /**
   * Minimum time between two refetches caused by a token whose `kid` is not in the cache (and
   * between retries while the endpoint is down). Default 30 000 (30 s).
   */
  jwksCooldown?: number;
  /**
   * How long discovered metadata is trusted before a background refresh runs discovery again, to
   * follow a `jwks_uri` the provider moved. Discovery also runs again, at most once per
   * `jwksCooldown`, when the JWKS URL answers a redirect, a 4xx status (but 408 and 429) or a
   * document that is not a usable key set; 5xx counts as an outage, not a move. A re-discovered
   * `issuer` must equal the first one. Unused when `jwksUri` is given: an explicit JWKS URL is
   * never replaced. Default 86 400 000 (24 h).
   */
  discoveryMaxAge?: number;
  /** Timeout of each discovery or JWKS request. Default 5 000 (5 s). */
  timeout?: number;
  /** Largest discovery or JWKS response body accepted, in bytes. Default 1 048 576 (1 MiB). */
  maxResponseSize?: number;
  /**
   * Whether plain `http:` URLs are allowed: `"loopback"` (default) allows `localhost`,
   * `127.0.0.0/8` and `[::1]` only; `true` allows any host (never do this in production); `false`
   * requires `https:` everywhere.
   */
  allowInsecureHttp?: InsecureHttpPolicy;
  /**
   * Capacity of the verified-token cache (an LRU of tokens whose signature and claims were already
   * checked; `exp`/`nbf` are checked again on every hit). `false` turns it off. Default 10 000.
   */
  tokenCacheSize?: number | false;
  /**
   * Byte budget of the verified-token cache, on top of its entry count: each entry is charged
   * twice its token's length plus 256 bytes (the token, its parsed claims, the bookkeeping), so
   * long tokens cannot grow a full cache past it. Default 33 554 432 (32 MiB), which 10 000
   * Auth0-sized tokens (about 800 characters) stay well under.
   */
  tokenCacheMaxBytes?: number;

  /** The `fetch` used for discovery and the JWKS. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /**
   * DPoP (RFC 9449) for {@link AccessTokenVerifier.authenticateRequest}. Default: mode `allowed`,
   * the default algorithms, a ±60 s `iat` window, replay store in memory, no nonces.
   */
  dpop?: DpopVerifierOptions;

  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Observability hook. Never receives a token. Exceptions it throws are ignored. */
  onEvent?: (event: VerifierEvent) => void;
}

/** What caused a JWKS (or discovery) request. */
export type JwksFetchTrigger = "warm_up" | "cold" | "refresh" | "unknown_kid" | "retry";

/** Why a JWKS (or discovery) request failed. */
export type JwksFailureReason =
  | "network"
  | "timeout"
  | "status"
  | "redirect"
  | "too_large"
  | "invalid_json"
  | "invalid_document"
  /**
   * Discovery metadata named an `issuer` other than the configured one (`issuer`, else
   * `issuerBaseURL`); it was not used (RFC 8414 §3.3, OpenID Connect Discovery §4.3).
   */
  | "issuer_mismatch"
  /** Re-discovery named another `issuer` than the first discovery; its metadata was not used. */
  | "issuer_changed";

/** Why a key of the JWKS was dropped (`jwk_rejected` events); stable values. */
export type JwkRejectionReason =
  /** Private or symmetric key material (`d`, `p`, `q`, `k`, `kty: "oct"`, …). */
  | "private_key"
  /** A member missing, not a string or not canonical base64url; a `kid` or `alg` not a string. */
  | "malformed"
  /** `kty`, `crv` and `alg` do not fit together (`ES256` on a P-384 key, `RS256` on an EC key). */
  | "inconsistent"
  /** RSA modulus even or under 2048 bits. */
  | "rsa_modulus"
  /** RSA public exponent below 3, even, or not below the modulus (RFC 8017 §3.1). */
  | "rsa_exponent"
  /** EC point off its curve or of the wrong size; EdDSA point of small order or non-canonical. */
  | "invalid_point";

/** Events emitted through `onEvent`. */
export type VerifierEvent =
  | {
      type: "jwks_fetch_succeeded";
      /** The URL fetched (discovery document or JWKS). */
      url: string;
      resource: "discovery" | "jwks";
      trigger: JwksFetchTrigger;
      /** Usable keys after the fetch (jwks only; 0 for discovery). */
      keys: number;
      durationMs: number;
    }
  | {
      type: "jwks_fetch_failed";
      url: string;
      resource: "discovery" | "jwks";
      trigger: JwksFetchTrigger;
      reason: JwksFailureReason;
      /** HTTP status when `reason` is `status` or `redirect`. */
      status?: number;
      durationMs: number;
    }
  | {
      /** A key of the JWKS was dropped; the rest of the set is used. Never carries key material. */
      type: "jwk_rejected";
      /** The key's `kid` (at most its first 100 characters), if it has a string one. */
      kid: string | undefined;
      reason: JwkRejectionReason;
    }
  | {
      /**
       * Discovery metadata named another issuer than expected; nothing in it was used. Reported
       * with a `jwks_fetch_failed` event of reason `issuer_mismatch` or `issuer_changed`.
       */
      type: "issuer_mismatch";
      url: string;
      /** The configured issuer (or, on re-discovery, the one discovered first). */
      expected: string;
      /** The metadata's `issuer` (at most its first 200 characters). */
      found: string;
    }
  | { type: "keys_state_changed"; state: KeyStoreState; previous: KeyStoreState }
  | {
      /**
       * A refresh no longer lists keys the store held: tokens they signed stop verifying, and
       * {@link AccessTokenVerifier.signingKeyRetired} answers `true` for claims they verified.
       */
      type: "keys_retired";
      /** The retired keys' `kid`s (keys without one are only counted). */
      kids: string[];
      count: number;
    }
  | { type: "token_verified"; cached: boolean }
  | {
      type: "token_rejected";
      code: AuthErrorCode;
      reason?: InvalidTokenReason;
      /** Why the DPoP proof was refused (`ERR_AUTH_INVALID_DPOP_PROOF` only). */
      proofReason?: DpopProofReason;
    };

/** DPoP settings of a verifier (RFC 9449). */
export interface DpopVerifierOptions {
  /**
   * `allowed` (default): `Bearer` and `DPoP` credentials; `required`: `DPoP` only; `disabled`:
   * `Bearer` only, the `DPoP` scheme is an unknown one. Under every mode a token bound to a key
   * (`cnf.jkt`) is refused as a bearer token.
   */
  mode?: DpopMode;
  /**
   * Algorithms a proof may be signed with (asymmetric only). Default ES256, ES384, ES512, EdDSA,
   * Ed25519, RS256, PS256.
   */
  algorithms?: readonly VerifierAlgorithm[];
  /** How far a proof's `iat` may lie from now, either way, in seconds. Default 60. */
  iatWindow?: number;
  /**
   * Where the `jti` of accepted proofs is kept until they expire. Default: this process's memory
   * (`memoryReplayStore`); a fleet shares one (`dpopReplayStore` from `@repo/auth/redis`).
   */
  replayStore?: DpopReplayStore;
  /** Server nonces (RFC 9449 §9): every proof must carry a recent one. Default: none. */
  nonce?: DpopNonceOptions;
  /** Longest proof accepted, in characters. Default 8192. */
  maxProofLength?: number;
}

/** Request headers as frameworks hand them over: a `Headers` object or Node's header record. */
export type RequestHeaders =
  | Headers
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** The parts of an HTTP request {@link AccessTokenVerifier.authenticateRequest} reads. */
export interface AuthenticatableRequest {
  /** The request method, as sent (`GET`, `POST`…): the proof's `htm`. */
  method: string;
  /**
   * The request's absolute URL as the client addressed it (behind a proxy: the public URL): the
   * proof's `htu` is compared on its scheme, host, port and path.
   */
  url: string | URL;
  /** `authorization` and `dpop` are read. */
  headers: RequestHeaders;
}

/** The key a request proved possession of. */
export interface DpopBinding {
  /** RFC 7638 thumbprint of the proof's key, equal to the token's `cnf.jkt`. */
  jkt: string;
  /**
   * A new server nonce for the client (send it as `DPoP-Nonce`): set when the proof carried the
   * previous window's nonce.
   */
  nextNonce?: string;
}

/** Verified claims of a request's token, and its DPoP binding when DPoP was used. */
export type AuthenticatedClaims = AccessTokenClaims & { dpop?: DpopBinding };

/** `fresh`: keys younger than the cache max age; `stale`: older but usable; `down`: none usable. */
export type KeyStoreState = "fresh" | "stale" | "down";

/** The verifier's key-store status, for readiness probes and the API's `health` procedure. */
export interface VerifierHealth {
  state: KeyStoreState;
  /** Number of usable keys. */
  keys: number;
  /** When the JWKS was last fetched successfully, epoch ms; `null` if never. */
  lastRefreshAt: number | null;
}

/** A verifier built once per process by {@link createAccessTokenVerifier}. */
export interface AccessTokenVerifier {
  /**
   * Verifies a token (the bare JWT, no `Bearer `) and returns its claims. Throws
   * {@link InvalidTokenError} (401) or {@link KeysUnavailableError} (503) — only `AuthError`s. A
   * token bound to a DPoP key (`cnf.jkt`) is refused (`dpop_bound`): it is only good with a proof,
   * through `authenticateRequest`.
   */
  verify(token: string): Promise<AccessTokenClaims>;
  /**
   * Parses an `Authorization` header value ({@link parseAuthorizationHeader}) and verifies the
   * token. Throws `MissingTokenError` (401), `InvalidRequestError` (400), then as `verify`.
   */
  authenticate(
    authorization: string | readonly string[] | null | undefined,
  ): Promise<AccessTokenClaims>;
  /**
   * Authenticates an HTTP request, framework-free: `Authorization: Bearer <token>`, or
   * `Authorization: DPoP <token>` with exactly one `DPoP: <proof>` header (RFC 9449), as the
   * `dpop` options allow. Returns the token's claims, plus `dpop: { jkt }` when a proof was
   * checked. Throws only `AuthError`s: those of `authenticate`, and `InvalidDpopProofError`,
   * `UseDpopNonceError`, `DpopRequiredError` (401), `InvalidRequestError` for two DPoP headers
   * (400), `ReplayStoreUnavailableError` (503). Answer them with
   * `buildAuthErrorHeaders(error, { dpop: verifier.dpopChallenge })`.
   *
   * @example
   * ```ts
   * const claims = await verifier.authenticateRequest({
   *   method: request.method,
   *   url: request.url,
   *   headers: request.headers,
   * });
   * ```
   */
  authenticateRequest(request: AuthenticatableRequest): Promise<AuthenticatedClaims>;
  /** The DPoP mode and proof algorithms, for `buildWwwAuthenticate`'s `dpop` option. */
  readonly dpopChallenge: DpopChallengeOptions;
  /**
   * Runs discovery and loads the keys now instead of on the first request. Resolves with the
   * health once the attempt is over; it does not reject when the endpoint is down (keys are then
   * retried in the background and `health().state` is `down`).
   */
  warmUp(): Promise<VerifierHealth>;
  /** The key store's state, synchronously. */
  health(): VerifierHealth;
  /**
   * Whether the key that verified these claims (an object `verify` or `authenticate` returned) has
   * since left the JWKS. For holders of claims that outlive a request, such as a stream: check it
   * on each `keys_retired` event and end what the claims authorised. `false` for claims this
   * verifier did not return.
   *
   * @example
   * onEvent: (event) => {
   *   if (event.type === "keys_retired" && verifier.signingKeyRetired(claims)) stream.end();
   * }
   */
  signingKeyRetired(claims: AccessTokenClaims): boolean;
  /** Stops background refreshes. Verification still works from cached keys afterwards. */
  close(): void;
}
