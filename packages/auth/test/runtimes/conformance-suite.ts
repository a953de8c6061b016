// The conformance suite, written once and run inside every runtime (Node, Bun, Deno, workerd,
// @edge-runtime/vm) against the entry that runtime resolves. It uses web APIs only; everything it
// needs from outside (server URLs, tokens, the start of its clock) comes in the plan, and every
// outcome goes back in the report, for the test on Node to judge.
import type * as Auth from "../../src/index.js";

/** What the host prepared: its servers' URLs, and tokens it signed for them. */
export interface ConformancePlan {
  issuer: string;
  audience: string;
  jwks: {
    valid: string;
    rotating: string;
    down: string;
    flaky: string;
    hostile: string;
    /** Answers only while the host's gate is open. */
    gated: string;
  };
  tokenEndpoint: string;
  /** Epoch ms the tokens were issued around; the suite's clocks start here. */
  clock: number;
  algorithms: Auth.VerifierAlgorithm[];
  tokens: {
    valid: string;
    /** Another valid token, so that a check is not answered by the verified-token cache. */
    another: string;
    wrongIssuer: string;
    wrongAudience: string;
    expired: string;
    tampered: string;
    /** Signed by a key the rotating JWKS publishes from its second answer on. */
    rotatedIn: string;
    neverPublished: string;
    /** One valid token per algorithm of `algorithms`. */
    byAlgorithm: Record<string, string>;
    forgedExponentOne: string;
    forgedSmallOrder: string;
    /** An ES256 token whose signature is r = s = 0 ("psychic signature"). */
    zeroSignature: string;
  };
  /** A DPoP-bound token and proofs for `GET <url>`, made by the host at `clock`. */
  dpop: {
    url: string;
    token: string;
    /** The RFC 7638 thumbprint of the proof key: the token's `cnf.jkt`. */
    jkt: string;
    /** Two ES256 proofs for the token, each valid once. */
    proofs: string[];
    /** The `jwk` of one key, signed by another. */
    wrongSigner: string;
  };
}

/** A case's outcome: its value, or the error it threw as plain data. */
export type Outcome =
  | { ok: true; value: unknown }
  | {
      ok: false;
      name: string;
      code?: string;
      reason?: string;
      status?: number;
      oauthError?: string;
      headers?: Record<string, string>;
      /** The `cause` chain, `name: message` each, to tell why (never compared). */
      causes?: string[];
    };

export type ConformanceReport = Record<string, Outcome>;

/** The entry under test: the package's public API as the runtime resolved it. */
export type AuthModule = typeof Auth;

const MINUTE = 60_000;

function causesOf(error: unknown): string[] {
  const causes: string[] = [];
  for (let cause = (error as Error).cause; cause !== undefined; cause = (cause as Error).cause) {
    causes.push(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
    if (causes.length === 5 || !(cause instanceof Error)) break;
  }
  return causes;
}

function outcomeOf(auth: AuthModule, error: unknown): Outcome {
  if (auth.isAuthError(error)) {
    return {
      ok: false,
      name: error.name,
      code: error.code,
      reason:
        error instanceof auth.InvalidTokenError || error instanceof auth.InvalidDpopProofError
          ? error.reason
          : undefined,
      status: error.status,
      oauthError: error.oauthError,
      headers: auth.buildAuthErrorHeaders(error),
      causes: causesOf(error),
    };
  }
  const { name = "Error", code } = error as { name?: string; code?: string };
  return { ok: false, name, code, causes: [String(error), ...causesOf(error)] };
}

/** Runs every case in order; never throws (a failure is the case's outcome). */
export async function runConformance(
  auth: AuthModule,
  plan: ConformancePlan,
): Promise<ConformanceReport> {
  const report: ConformanceReport = {};
  const verifiers: Auth.AccessTokenVerifier[] = [];
  const clients: Auth.ClientCredentialsClient[] = [];
  let current = plan.clock;
  const now = () => current;

  const verifier = (options: Partial<Auth.AccessTokenVerifierOptions>) => {
    const created = auth.createAccessTokenVerifier({
      issuer: plan.issuer,
      jwksUri: plan.jwks.valid,
      audience: plan.audience,
      algorithms: plan.algorithms,
      now,
      ...options,
    });
    verifiers.push(created);
    return created;
  };

  const run = async (name: string, body: () => Promise<unknown>) => {
    try {
      report[name] = { ok: true, value: await body() };
    } catch (error) {
      report[name] = outcomeOf(auth, error);
    }
  };
  const subject = async (pending: Promise<Auth.AccessTokenClaims>) => (await pending).sub;

  try {
    const discovered = verifier({
      issuer: undefined,
      jwksUri: undefined,
      issuerBaseURL: plan.issuer,
    });
    await run("valid token, keys by discovery", () =>
      subject(discovered.verify(plan.tokens.valid)),
    );
    await run("Authorization header", () =>
      subject(discovered.authenticate(`Bearer ${plan.tokens.another}`)),
    );
    await run("no Authorization header", () => discovered.authenticate(undefined));
    await run("insufficient scope", async () =>
      auth.requireScopes(await discovered.verify(plan.tokens.valid), ["admin:items"]),
    );

    const main = verifier({});
    for (const [alg, token] of Object.entries(plan.tokens.byAlgorithm)) {
      await run(`algorithm ${alg}`, () => subject(main.verify(token)));
    }
    await run("wrong issuer", () => main.verify(plan.tokens.wrongIssuer));
    await run("wrong audience", () => main.verify(plan.tokens.wrongAudience));
    await run("expired", () => main.verify(plan.tokens.expired));
    await run("tampered", () => main.verify(plan.tokens.tampered));
    await run("ECDSA signature of zeros", () => main.verify(plan.tokens.zeroSignature));

    const rotating = verifier({ jwksUri: plan.jwks.rotating });
    await run("known kid", () => subject(rotating.verify(plan.tokens.valid)));
    // Past the 30 s cooldown: an unknown kid may cause one refetch, which finds the new key.
    current += 31_000;
    await run("unknown kid, refetched", () => subject(rotating.verify(plan.tokens.rotatedIn)));
    await run("unknown kid within the cooldown", () => rotating.verify(plan.tokens.neverPublished));
    current = plan.clock;

    await run("JWKS down at start", () =>
      verifier({ jwksUri: plan.jwks.down }).verify(plan.tokens.valid),
    );
    const flaky = verifier({
      jwksUri: plan.jwks.flaky,
      jwksCacheMaxAge: 10 * MINUTE,
      jwksMaxStaleness: 60 * MINUTE,
    });
    await run("JWKS up", () => subject(flaky.verify(plan.tokens.valid)));
    current += 11 * MINUTE;
    await run("JWKS down, stale keys serve", async () => ({
      sub: await subject(flaky.verify(plan.tokens.another)),
      state: flaky.health().state,
    }));
    current += 60 * MINUTE;
    await run("JWKS down past the staleness bound", () => flaky.verify(plan.tokens.valid));
    current = plan.clock;

    const rejected: { kid: string | undefined; reason: string }[] = [];
    const hostile = verifier({
      jwksUri: plan.jwks.hostile,
      onEvent: (event) => {
        if (event.type === "jwk_rejected") rejected.push({ kid: event.kid, reason: event.reason });
      },
    });
    await run("hostile JWKS, sound key", () => subject(hostile.verify(plan.tokens.valid)));
    await run("hostile JWKS, rejected keys", async () => rejected);
    await run("forged for RSA e = 1", () => hostile.verify(plan.tokens.forgedExponentOne));
    await run("forged for a small-order Ed25519 key", () =>
      hostile.verify(plan.tokens.forgedSmallOrder),
    );

    const dpop = verifier({});
    const dpopRequest = (proof: string) => ({
      method: "GET",
      url: plan.dpop.url,
      headers: new Headers({ authorization: `DPoP ${plan.dpop.token}`, dpop: proof }),
    });
    for (const [i, proof] of plan.dpop.proofs.entries()) {
      await run(`DPoP proof ${i}`, async () => {
        const claims = await dpop.authenticateRequest(dpopRequest(proof));
        return { sub: claims.sub, jkt: claims.dpop?.jkt };
      });
    }
    await run("DPoP proof replayed", () =>
      dpop.authenticateRequest(dpopRequest(plan.dpop.proofs[0] as string)),
    );
    await run("DPoP proof signed by another key", () =>
      dpop.authenticateRequest(dpopRequest(plan.dpop.wrongSigner)),
    );
    await run("DPoP-bound token as Bearer", () => dpop.authenticate(`Bearer ${plan.dpop.token}`));

    const tokens = auth.createClientCredentialsClient({
      tokenEndpoint: plan.tokenEndpoint,
      clientId: "conformance",
      clientSecret: "conformance-secret",
      audience: plan.audience,
    });
    clients.push(tokens);
    await run("token client, concurrent calls", async () => {
      const issued = await Promise.all(Array.from({ length: 20 }, () => tokens.getToken()));
      return { distinct: new Set(issued).size, requests: tokens.stats().tokenRequests };
    });
    await run("token client, cached", async () => {
      await tokens.getToken();
      const { tokenRequests, cacheHits } = tokens.stats();
      return { tokenRequests, cacheHits };
    });
  } finally {
    for (const created of verifiers) created.close();
    for (const client of clients) await client.close();
  }
  return report;
}
