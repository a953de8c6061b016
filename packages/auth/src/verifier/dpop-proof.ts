import { cryptoBackend } from "#crypto";
import type { VerifyKey } from "../crypto/backend.js";
import { type DpopProofReason, InvalidDpopProofError, InvalidTokenError } from "../errors.js";
import { KnownHeaders, type ParsedJws, parseCompactJws } from "./compact-jws.js";
import type { AccessTokenHeader } from "./types.js";
import { validateJwk } from "./validate-jwk.js";

/** What a resource server learns from a proof that passed every check of RFC 9449 §4.3. */
export interface CheckedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key: the `cnf.jkt` the token must carry. */
  jkt: string;
  jti: string;
  /** Seconds since the epoch. */
  iat: number;
  /** The server nonce the proof carries, if any (RFC 9449 §8, §9). */
  nonce: string | undefined;
}

/** The request a proof must be for. */
export interface ProofTarget {
  method: string;
  /** `scheme://host[:port]/path` of the request, normalised by `URL`, without query or fragment. */
  htu: string;
  /** base64url SHA-256 of the access token (`ath`). */
  ath: string;
}

/** The checks' settings, resolved once. */
export interface ProofRules {
  algorithms: ReadonlySet<string>;
  /** Seconds either side of now that `iat` may lie. */
  iatWindow: number;
  maxProofLength: number;
}

// Members only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4): checked on every
// proof, also when the key's public members are known.
const SECRET_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"] as const;
const MAX_JTI_LENGTH = 256;
const KEY_CACHE_LIMIT = 1000;

/**
 * `scheme://host[:port]/path` of `url`: what `htu` is compared on (RFC 9449 §4.3 item 9, with the
 * normalisation of RFC 3986 §6.2.2–6.2.3 that `URL` applies: case of scheme and host, default
 * port, dot segments). `undefined` when `url` is not an absolute http(s) URL.
 */
export function htuOf(url: string | URL): string | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return undefined;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

// RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
function thumbprintInput(jwk: Record<string, unknown>): string | undefined {
  const text = (name: string) => (typeof jwk[name] === "string" ? (jwk[name] as string) : null);
  const json = (members: Record<string, string | null>) =>
    Object.values(members).includes(null) ? undefined : JSON.stringify(members);
  switch (jwk.kty) {
    case "EC":
      return json({ crv: text("crv"), kty: "EC", x: text("x"), y: text("y") });
    case "RSA":
      return json({ e: text("e"), kty: "RSA", n: text("n") });
    case "OKP":
      return json({ crv: text("crv"), kty: "OKP", x: text("x") });
    default:
      return undefined;
  }
}

/** A proof key validated and imported once, by its thumbprint input. */
interface ProofKey {
  thumbprint: string;
  /** The algorithms the key's type and curve sign with. */
  algorithms: readonly string[];
  imported: Promise<Map<string, VerifyKey> | undefined>;
  /** Filled once `imported` settles, so later proofs verify without waiting. */
  ready?: Map<string, VerifyKey>;
}

const fail = (reason: DpopProofReason): never => {
  throw new InvalidDpopProofError(reason);
};

const PARSE_REASONS: Partial<Record<string, DpopProofReason>> = {
  algorithm: "algorithm",
  header: "header",
  type: "type",
};

/**
 * Checks DPoP proofs (RFC 9449 §4.3) for one verifier: the proof keys it has validated and imported
 * stay in a bounded cache, so a client's next proof costs one signature check, two hashes and a
 * few comparisons.
 */
export class DpopProofChecker {
  readonly #rules: ProofRules;
  readonly #keys = new Map<string, ProofKey>();
  // A client sends the same header (`typ`, `alg`, `jwk`) with every proof: once a proof with it
  // verified, its next proofs skip decoding and parsing it and finding its key again.
  readonly #knownHeaders = new KnownHeaders(KEY_CACHE_LIMIT);
  readonly #keyOfHeader = new WeakMap<AccessTokenHeader, ProofKey>();

  constructor(rules: ProofRules) {
    this.#rules = rules;
  }

  /**
   * Checks `proof` against `target` at `nowSeconds`; throws {@link InvalidDpopProofError}. Nonce and
   * replay are the caller's (they need server state).
   */
  check(
    proof: string,
    target: ProofTarget,
    nowSeconds: number,
  ): CheckedDpopProof | Promise<CheckedDpopProof> {
    const jws = this.#parse(proof);
    const claims = this.#checkClaims(jws.payload, target, nowSeconds);
    const key = this.#keyOfHeader.get(jws.header) ?? this.#key(jws);
    const alg = jws.header.alg;
    const accept = (): CheckedDpopProof => {
      if (key.ready !== undefined && !this.#keyOfHeader.has(jws.header)) {
        this.#knownHeaders.remember(jws.headerSegment, jws.header);
        this.#keyOfHeader.set(jws.header, key);
      }
      return { ...claims, jkt: key.thumbprint };
    };
    const verifyWith = (keys: Map<string, VerifyKey> | undefined) => {
      const input = keys?.get(alg);
      if (input === undefined) return fail("jwk");
      const verified = cryptoBackend.verify(alg, input, jws.signingInput, jws.signature);
      const result = (ok: boolean) => (ok ? accept() : fail("signature"));
      return typeof verified === "boolean" ? result(verified) : verified.then(result);
    };
    return key.ready !== undefined ? verifyWith(key.ready) : key.imported.then(verifyWith);
  }

  #parse(proof: string): ParsedJws {
    let jws: ParsedJws;
    try {
      jws = parseCompactJws(
        proof,
        this.#rules.maxProofLength,
        this.#rules.algorithms,
        this.#knownHeaders,
      );
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      return fail(PARSE_REASONS[error.reason] ?? "malformed");
    }
    if (jws.header.typ !== "dpop+jwt") fail("type");
    return jws;
  }

  #checkClaims(
    payload: Record<string, unknown>,
    target: ProofTarget,
    nowSeconds: number,
  ): Omit<CheckedDpopProof, "jkt"> {
    const { jti, htm, htu, iat, ath, nonce } = payload;
    if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH) fail("jti");
    if (htm !== target.method) fail("htm");
    if (typeof htu !== "string" || htuOf(htu) !== target.htu) fail("htu");
    if (
      typeof iat !== "number" ||
      !Number.isFinite(iat) ||
      Math.abs(nowSeconds - iat) > this.#rules.iatWindow
    ) {
      fail("iat");
    }
    if (ath !== target.ath) fail("ath");
    return {
      jti: jti as string,
      iat: iat as number,
      nonce: typeof nonce === "string" ? nonce : undefined,
    };
  }

  // The header's `jwk`: validated (public, sound, fit for `alg`) the first time, then known by its
  // thumbprint input. Secret members are looked for on every proof: they are not part of it.
  #key(jws: ParsedJws): ProofKey {
    const jwk = jws.header.jwk;
    if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) return fail("jwk");
    const members = jwk as Record<string, unknown>;
    if (SECRET_MEMBERS.some((member) => member in members)) fail("jwk");
    const input = thumbprintInput(members);
    if (input === undefined) return fail("jwk");
    let key = this.#keys.get(input);
    if (key === undefined) {
      const verdict = validateJwk(members);
      if (!("publicJwk" in verdict)) return fail("jwk");
      const allowed = verdict.algorithms.filter((alg) => this.#rules.algorithms.has(alg));
      const created: ProofKey = {
        thumbprint: cryptoBackend.sha256Base64url(input),
        algorithms: verdict.algorithms,
        imported: cryptoBackend.importPublicKey(verdict.publicJwk, allowed),
      };
      created.imported.then(
        (keys) => {
          if (keys === undefined) this.#keys.delete(input);
          else created.ready = keys;
        },
        () => this.#keys.delete(input),
      );
      if (this.#keys.size >= KEY_CACHE_LIMIT) {
        const oldest = this.#keys.keys().next();
        if (!oldest.done) this.#keys.delete(oldest.value);
      }
      this.#keys.set(input, created);
      key = created;
    }
    if (!key.algorithms.includes(jws.header.alg)) fail("jwk");
    return key;
  }
}
