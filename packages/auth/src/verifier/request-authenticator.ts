import { cryptoBackend } from "#crypto";
import {
  AuthError,
  DpopRequiredError,
  InvalidDpopProofError,
  InvalidRequestError,
  InvalidTokenError,
  ReplayStoreUnavailableError,
  UseDpopNonceError,
} from "../errors.js";
import type { DpopChallengeOptions, DpopMode } from "../http.js";
import { checkB64Token, readCredentials } from "./bearer-token.js";
import { createDpopNonces, type DpopNonces } from "./dpop-nonce.js";
import { type CheckedDpopProof, DpopProofChecker, htuOf } from "./dpop-proof.js";
import { type DpopReplayStore, memoryReplayStore } from "./dpop-replay-store.js";
import type {
  AccessTokenClaims,
  AuthenticatableRequest,
  AuthenticatedClaims,
  DpopVerifierOptions,
  RequestHeaders,
  VerifierAlgorithm,
} from "./types.js";
import { SUPPORTED_ALGORITHMS } from "./types.js";

/** The proof algorithms accepted when `dpop.algorithms` is not given. */
export const DEFAULT_DPOP_ALGORITHMS: readonly VerifierAlgorithm[] = [
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
  "RS256",
  "PS256",
];

const MODES: readonly DpopMode[] = ["allowed", "required", "disabled"];
const SUPPORTED: ReadonlySet<string> = new Set(SUPPORTED_ALGORITHMS);

/** The DPoP settings with defaults applied and checked. */
export interface ResolvedDpopOptions {
  mode: DpopMode;
  algorithms: readonly VerifierAlgorithm[];
  iatWindow: number;
  maxProofLength: number;
  replayStore: DpopReplayStore;
  nonces: DpopNonces | undefined;
}

function fail(message: string): never {
  throw new TypeError(`createAccessTokenVerifier: ${message}`);
}

/** Applies the defaults of {@link DpopVerifierOptions}; throws a `TypeError` for a bad value. */
export function resolveDpopOptions(
  options: DpopVerifierOptions | undefined,
  now: () => number,
): ResolvedDpopOptions {
  const mode = options?.mode ?? "allowed";
  if (!MODES.includes(mode)) fail('"dpop.mode" must be "allowed", "required" or "disabled"');
  const algorithms = options?.algorithms ?? DEFAULT_DPOP_ALGORITHMS;
  if (algorithms.length === 0) fail('"dpop.algorithms" must not be empty');
  for (const alg of algorithms) {
    if (!SUPPORTED.has(alg)) fail(`DPoP algorithm "${String(alg)}" is not supported`);
  }
  const iatWindow = options?.iatWindow ?? 60;
  if (typeof iatWindow !== "number" || !Number.isFinite(iatWindow) || iatWindow < 1) {
    fail('"dpop.iatWindow" must be a number of seconds >= 1');
  }
  const maxProofLength = options?.maxProofLength ?? 8192;
  if (!Number.isInteger(maxProofLength) || maxProofLength < 1) {
    fail('"dpop.maxProofLength" must be a positive integer');
  }
  return {
    mode,
    algorithms: [...algorithms],
    iatWindow,
    maxProofLength,
    replayStore: options?.replayStore ?? memoryReplayStore({ now }),
    nonces: options?.nonce === undefined ? undefined : createDpopNonces(options.nonce),
  };
}

type HeaderValue = string | readonly string[] | undefined;

function headerOf(headers: RequestHeaders, name: string): HeaderValue {
  if (typeof (headers as Headers).get === "function") {
    return (headers as Headers).get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, HeaderValue>>;
  const value = record[name];
  if (value !== undefined) return value;
  for (const key of Object.keys(record)) if (key.toLowerCase() === name) return record[key];
  return undefined;
}

// RFC 9449 §4.3 item 1: exactly one DPoP header. A `Headers` object and Node join repeated fields
// with commas, which a compact JWS never contains.
function readProof(value: HeaderValue): string {
  if (value === undefined || (typeof value !== "string" && value.length === 0)) {
    throw new InvalidDpopProofError("missing");
  }
  if (typeof value !== "string") {
    if (value.length > 1)
      throw new InvalidRequestError("The DPoP header is repeated", { scheme: "DPoP" });
    return readProof(value[0]);
  }
  if (value.includes(","))
    throw new InvalidRequestError("The DPoP header is repeated", { scheme: "DPoP" });
  const proof = value.trim();
  if (proof === "") throw new InvalidDpopProofError("missing");
  return proof;
}

// `cnf.jkt` as the token has it: any value means the token is bound; only a string can match.
function boundKey(claims: AccessTokenClaims): unknown {
  const cnf = claims.cnf;
  return typeof cnf === "object" && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined;
}

/** Throws {@link InvalidTokenError} `dpop_bound` for a token bound to a key (RFC 9449 §7.1). */
export function refuseBound(claims: AccessTokenClaims): AccessTokenClaims {
  if (boundKey(claims) !== undefined) throw new InvalidTokenError("dpop_bound");
  return claims;
}

// A claim named `dpop` in a token must not read as a binding this verifier checked.
function withoutDpopClaim(claims: AccessTokenClaims): AuthenticatedClaims {
  if (!Object.hasOwn(claims, "dpop")) return claims;
  const { dpop: _unchecked, ...rest } = claims;
  return rest;
}

/**
 * `verifier.authenticateRequest`: reads `Authorization` and `DPoP`, then
 * - `Bearer`: refused under mode `required`; the token must verify and not be bound;
 * - `DPoP` (refused as an unknown scheme under `disabled`): one proof passing RFC 9449 §4.3
 *   (`DpopProofChecker`), the server's nonce when nonces are on, the token verifying and bound
 *   (`cnf.jkt`) to the proof's key, and the proof's `jti` unused (claimed last, in the replay
 *   store, so only proofs with a valid token take room in it).
 * Errors about DPoP credentials are written in the `DPoP` scheme.
 */
export function createRequestAuthenticator(
  dpop: ResolvedDpopOptions,
  verifyToken: (token: string) => Promise<AccessTokenClaims>,
  now: () => number,
  onRejected: (error: unknown) => void,
): {
  authenticateRequest(request: AuthenticatableRequest): Promise<AuthenticatedClaims>;
  challenge: DpopChallengeOptions;
} {
  const checker = new DpopProofChecker({
    algorithms: new Set(dpop.algorithms),
    iatWindow: dpop.iatWindow,
    maxProofLength: dpop.maxProofLength,
  });
  const { nonces, replayStore } = dpop;

  async function bearer(token: string): Promise<AuthenticatedClaims> {
    if (dpop.mode === "required") throw new DpopRequiredError();
    return withoutDpopClaim(refuseBound(await verifyToken(token)));
  }

  async function viaDpop(
    token: string,
    request: AuthenticatableRequest,
  ): Promise<AuthenticatedClaims> {
    checkB64Token(token);
    const proof = readProof(headerOf(request.headers, "dpop"));
    const htu = htuOf(request.url);
    if (htu === undefined) throw new TypeError("authenticateRequest: url must be absolute http(s)");
    const at = now();
    const checked = await checker.check(
      proof,
      { method: request.method, htu, ath: cryptoBackend.sha256Base64url(token) },
      at / 1000,
    );
    const nonce = nonces?.check(checked.nonce, at);
    if (nonce === "invalid") throw new UseDpopNonceError((nonces as DpopNonces).current(at));

    let claims: AccessTokenClaims;
    try {
      claims = await verifyToken(token);
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        throw new InvalidTokenError(error.reason, { claim: error.claim, scheme: "DPoP" });
      }
      throw error;
    }
    const jkt = checked.jkt;
    if (boundKey(claims) !== jkt) throw new InvalidTokenError("dpop_binding", { scheme: "DPoP" });
    await claimJti(checked, at);
    return {
      ...withoutDpopClaim(claims),
      dpop:
        nonce === "previous" && nonces !== undefined
          ? { jkt, nextNonce: nonces.current(at) }
          : { jkt },
    };
  }

  // The jti is remembered until no clock within the window could accept the proof again.
  async function claimJti(checked: CheckedDpopProof, at: number): Promise<void> {
    const ttl = Math.max(1000, Math.ceil((checked.iat + dpop.iatWindow + 1) * 1000 - at));
    const key = cryptoBackend.sha256Base64url(`${checked.jkt}.${checked.jti}`);
    let first: boolean;
    try {
      first = await replayStore.claim(key, ttl);
    } catch (error) {
      throw new ReplayStoreUnavailableError(1, { cause: error });
    }
    if (!first) throw new InvalidDpopProofError("replay");
  }

  return {
    async authenticateRequest(request) {
      try {
        const { scheme, token } = readCredentials(
          headerOf(request.headers, "authorization"),
          dpop.mode !== "disabled",
        );
        return scheme === "Bearer" ? await bearer(token) : await viaDpop(token, request);
      } catch (error) {
        if (error instanceof AuthError) onRejected(error);
        throw error;
      }
    },
    challenge: { mode: dpop.mode, algorithms: dpop.algorithms },
  };
}
