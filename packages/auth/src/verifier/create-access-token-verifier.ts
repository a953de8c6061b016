import { cryptoBackend } from "#crypto";
import { AuthError, InvalidDpopProofError, InvalidTokenError } from "../errors.js";
import type { SigningKey } from "./algorithms.js";
import { checkB64Token, readBearerToken } from "./bearer-token.js";
import { checkClaims, checkTimes, checkType } from "./claims.js";
import { KnownHeaders, type ParsedJws, parseCompactJws } from "./compact-jws.js";
import { createKeyStore } from "./key-store.js";
import {
  createRequestAuthenticator,
  refuseBound,
  resolveDpopOptions,
} from "./request-authenticator.js";
import { resolveVerifierOptions } from "./resolve-options.js";
import { TokenCache } from "./token-cache.js";
import type {
  AccessTokenClaims,
  AccessTokenVerifier,
  AccessTokenVerifierOptions,
  VerifierEvent,
} from "./types.js";

// Verified claims are shared between callers through the cache, so nobody may change them. Only
// objects are queued (claims are mostly strings and numbers), and `for…in` lists the own keys of
// parsed JSON without building an array of values for each object.
function deepFreeze<T extends object>(value: T): T {
  const pending: object[] = [Object.freeze(value)];
  while (pending.length > 0) {
    const item = pending.pop() as Record<string, unknown>;
    for (const name in item) {
      const child = item[name];
      if (typeof child === "object" && child !== null && !Object.isFrozen(child)) {
        pending.push(Object.freeze(child));
      }
    }
  }
  return value;
}

/**
 * Builds an access-token verifier. Build it once per process and share it: it holds the JWKS key
 * store and the verified-token cache.
 *
 * Checks, in order: token size and compact-JWS syntax (canonical base64url, UTF-8 JSON objects);
 * header (`alg` in the allow-list, no `crit`, no `b64: false`, no `cty`, `typ`); key by `kid` from
 * the JWKS only, each JWK validated before use (keys named by the token itself are never used);
 * signature; claims (types, NumericDate ranges, `iss`, `aud`, `exp`, `nbf`, `iat`, required claims,
 * validators). Returned claims are frozen. `packages/auth/SECURITY.md` lists every threat, and the
 * test that covers it.
 *
 * @example
 * ```ts
 * const verifier = createAccessTokenVerifier({
 *   issuerBaseURL: "https://tenant.eu.auth0.com/",
 *   audience: "https://api.example.com",
 * });
 * await verifier.warmUp();
 * const claims = await verifier.authenticate(request.headers.get("authorization"));
 * requireScopes(claims, ["read:items"]);
 * ```
 */
export function createAccessTokenVerifier(
  options: AccessTokenVerifierOptions,
): AccessTokenVerifier {
  const resolved = resolveVerifierOptions(options);
  const { now, onEvent } = resolved;
  const emit = (event: VerifierEvent): void => {
    if (onEvent === undefined) return;
    try {
      onEvent(event);
    } catch {
      // An observer must not change the outcome of a verification.
    }
  };
  const cache =
    resolved.tokenCacheSize > 0
      ? new TokenCache(resolved.tokenCacheSize, resolved.tokenCacheMaxBytes)
      : undefined;
  const knownHeaders = new KnownHeaders();
  // The key each verified claims object was verified with (cached hits return the same object), so
  // a long-lived holder of claims (a stream) can learn that the key left the JWKS.
  const verifiedWith = new WeakMap<AccessTokenClaims, SigningKey>();
  const store = createKeyStore(resolved, emit, (retired) => {
    cache?.dropRetired();
    emit({
      type: "keys_retired",
      kids: retired.flatMap((key) => (key.kid === undefined ? [] : [key.kid])),
      count: retired.length,
    });
  });
  const dpopOptions = resolveDpopOptions(options.dpop, now);

  function fromCache(token: string, at: number): AccessTokenClaims | undefined {
    const hit = cache?.get(token);
    if (hit === undefined) return undefined;
    if (at >= store.usableUntil()) return undefined;
    if (at >= store.freshUntil()) store.refreshIfDue(at);
    try {
      checkTimes(hit.claims, at / 1000, resolved);
    } catch (error) {
      cache?.delete(token);
      throw error;
    }
    return hit.claims;
  }

  function accept(token: string, jws: ParsedJws, verifiedBy: SigningKey): AccessTokenClaims {
    knownHeaders.remember(jws.headerSegment, jws.header);
    const claims = deepFreeze(
      checkClaims(jws.payload, jws.header, store.issuer(), now() / 1000, resolved),
    );
    cache?.set(token, { claims, key: verifiedBy });
    verifiedWith.set(claims, verifiedBy);
    emit({ type: "token_verified", cached: false });
    return claims;
  }

  // Tries the candidate keys in turn from `first`. With node:crypto every check answers at once and
  // this stays synchronous; a WebCrypto check answers with a promise, and the rest follow it.
  function finish(
    token: string,
    jws: ParsedJws,
    keys: readonly SigningKey[],
    first = 0,
  ): AccessTokenClaims | Promise<AccessTokenClaims> {
    const alg = jws.header.alg;
    for (let i = first; i < keys.length; i++) {
      const key = keys[i] as SigningKey;
      const input = key.inputs.get(alg);
      if (input === undefined) continue;
      const verified = cryptoBackend.verify(alg, input, jws.signingInput, jws.signature);
      if (verified === true) return accept(token, jws, key);
      if (verified !== false) {
        return verified.then((ok) =>
          ok ? accept(token, jws, key) : finish(token, jws, keys, i + 1),
        );
      }
    }
    throw new InvalidTokenError("signature");
  }

  // Errors already reported, so that one passing through two layers is counted once.
  const reported = new WeakSet<AuthError>();
  function report(error: unknown): void {
    if (!(error instanceof AuthError) || reported.has(error)) return;
    reported.add(error);
    emit({
      type: "token_rejected",
      code: error.code,
      reason: error instanceof InvalidTokenError ? error.reason : undefined,
      ...(error instanceof InvalidDpopProofError ? { proofReason: error.reason } : {}),
    });
  }

  function reject(error: unknown): never {
    report(error);
    throw error;
  }

  const bearerOnly = (claims: Promise<AccessTokenClaims>) => claims.then(refuseBound).catch(reject);

  const requests = createRequestAuthenticator(
    dpopOptions,
    (token) => verify(token, true),
    now,
    report,
  );

  // `fromHeader`: the token came out of an Authorization header, whose b64token grammar is checked
  // when the token is not a compact JWS: the compact-JWS syntax is the stricter of the two, so a
  // cached token and a token the parser accepts cannot fail it.
  function verify(token: string, fromHeader = false): Promise<AccessTokenClaims> {
    try {
      const at = now();
      const cached = typeof token === "string" ? fromCache(token, at) : undefined;
      if (cached !== undefined) {
        emit({ type: "token_verified", cached: true });
        return Promise.resolve(cached);
      }
      let jws: ParsedJws;
      try {
        jws = parseCompactJws(token, resolved.maxTokenLength, resolved.algorithms, knownHeaders);
      } catch (error) {
        // A compact JWS is a b64token, so only a token the parser refused can break the header's
        // grammar: checking it here spares every accepted token a second scan of its characters,
        // and a token that breaks it still gets the 400, not the parser's 401.
        if (fromHeader) checkB64Token(token);
        throw error;
      }
      checkType(jws.header, resolved.strict);
      const keys = store.candidates(jws.header.kid, jws.header.alg);
      if (Array.isArray(keys)) {
        const claims = finish(token, jws, keys);
        return claims instanceof Promise ? claims.catch(reject) : Promise.resolve(claims);
      }
      return (keys as Promise<readonly SigningKey[]>)
        .then((found) => finish(token, jws, found))
        .catch(reject);
    } catch (error) {
      return Promise.reject(error).catch(reject);
    }
  }

  return {
    verify: (token) => bearerOnly(verify(token)),
    authenticate(authorization) {
      try {
        return bearerOnly(verify(readBearerToken(authorization), true));
      } catch (error) {
        return Promise.reject(error).catch(reject);
      }
    },
    authenticateRequest: requests.authenticateRequest,
    dpopChallenge: requests.challenge,
    async warmUp() {
      await store.warmUp();
      return store.health();
    },
    health: () => store.health(),
    signingKeyRetired: (claims) => verifiedWith.get(claims)?.retired === true,
    close: () => store.close(),
  };
}
