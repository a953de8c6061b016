import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  claimsFor,
  generateTestKey,
  signProof,
  signToken,
  type TestKey,
  thumbprintOf,
} from "@repo/test-utils";
import {
  forgeForExponentOne,
  forgeForSmallOrderEd25519,
  offCurve,
  smallOrderEd25519,
  withExponent,
} from "../support/odd-keys.js";
import type { ConformancePlan } from "./conformance-suite.js";

export const AUDIENCE = "https://api.example.local";
const START = Date.UTC(2026, 0, 1);
const ALGORITHMS = ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"] as const;

/** The JWKS and token endpoint paths, served on 127.0.0.1 by {@link startConformanceHost}. */
export const PATHS = {
  discovery: "/.well-known/openid-configuration",
  valid: "/jwks/valid",
  rotating: "/jwks/rotating",
  down: "/jwks/down",
  flaky: "/jwks/flaky",
  hostile: "/jwks/hostile",
  gated: "/jwks/gated",
  token: "/oauth/token",
} as const;

/**
 * Keys a hostile JWKS publishes, with the verdict every runtime must reach on each: none of them
 * may ever verify a token.
 */
export const HOSTILE_REJECTIONS = [
  { kid: "rsa-e-1", reason: "rsa_exponent" },
  { kid: "rsa-e-even", reason: "rsa_exponent" },
  { kid: "rsa-1024", reason: "rsa_modulus" },
  { kid: "rsa-private", reason: "private_key" },
  { kid: "oct", reason: "private_key" },
  { kid: "ec-off-curve", reason: "invalid_point" },
  { kid: "ed25519-small-order", reason: "invalid_point" },
  { kid: "ec-as-rs256", reason: "inconsistent" },
] as const;

export interface ConformanceHost extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  plan: ConformancePlan;
  /**
   * A token for `AUDIENCE` issued now by the real clock (the plan's tokens are for the suite's
   * clock), for servers that read the time themselves; `claims` override its claims.
   */
  liveToken(claims?: Record<string, unknown>): string;
  /** Holds answers to the gated JWKS endpoint from now on, until {@link ConformanceHost.openGate}. */
  closeGate(): void;
  /** Answers the held requests to the gated JWKS endpoint, and the next ones at once. */
  openGate(): void;
  /** Requests received per path. */
  count(path: string): number;
  close(): Promise<void>;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function hostileKeys(rsa: TestKey, ec: TestKey, small: TestKey): object[] {
  return [
    withExponent(rsa.publicJwk, 1n, "rsa-e-1"),
    withExponent(rsa.publicJwk, 65_536n, "rsa-e-even"),
    { ...small.publicJwk, kid: "rsa-1024" },
    { ...rsa.privateKey.export({ format: "jwk" }), kid: "rsa-private" },
    { kty: "oct", k: "c2VjcmV0LXNlY3JldC1zZWNyZXQ", kid: "oct" },
    offCurve(ec.publicJwk, "ec-off-curve"),
    smallOrderEd25519("ed25519-small-order"),
    { ...ec.publicJwk, kid: "ec-as-rs256", alg: "RS256" },
  ];
}

/**
 * The servers the conformance suite talks to, on 127.0.0.1 with a free port: discovery; JWKS
 * endpoints that are sound, rotate a key in on their second answer, are down, fail after their
 * first answer, or publish hostile keys beside a sound one; and a counting token endpoint. The
 * plan holds their URLs and tokens signed for them.
 */
export async function startConformanceHost(): Promise<ConformanceHost> {
  const main = generateTestKey("main");
  const rotated = generateTestKey("rotated");
  const byAlgorithm = ALGORITHMS.map((alg) => generateTestKey(`key-${alg}`, { alg }));
  const ec = byAlgorithm.find((key) => key.alg === "ES256") as TestKey;
  const small = generateTestKey("small", { alg: "RS256", bits: 1024 });
  const proofKeys = [
    generateTestKey("proof-p256", { alg: "ES256" }),
    generateTestKey("proof-other", { alg: "ES256" }),
  ];
  const published = [main, ...byAlgorithm].map((key) => key.publicJwk);

  const counts = new Map<string, number>();
  let held: (() => void)[] | undefined;
  let tokensIssued = 0;
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    const seen = (counts.get(path) ?? 0) + 1;
    counts.set(path, seen);
    switch (path) {
      case PATHS.discovery:
        return json(response, 200, { issuer: `${origin}/`, jwks_uri: `${origin}${PATHS.valid}` });
      case PATHS.valid:
        return json(response, 200, { keys: published });
      case PATHS.rotating:
        return json(response, 200, {
          keys: seen === 1 ? [main.publicJwk] : [main.publicJwk, rotated.publicJwk],
        });
      case PATHS.down:
        return json(response, 503, { error: "unavailable" });
      case PATHS.flaky:
        return seen === 1
          ? json(response, 200, { keys: [main.publicJwk] })
          : json(response, 503, { error: "unavailable" });
      case PATHS.gated: {
        const answer = () => json(response, 200, { keys: [main.publicJwk] });
        if (held) held.push(answer);
        else answer();
        return;
      }
      case PATHS.hostile:
        return json(response, 200, { keys: [...hostileKeys(main, ec, small), main.publicJwk] });
      case PATHS.token:
        request.resume();
        tokensIssued += 1;
        return json(response, 200, {
          access_token: `conformance-token-${tokensIssued}`,
          token_type: "Bearer",
          expires_in: 3600,
        });
      default:
        return json(response, 404, {});
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${origin}/`;

  const seconds = START / 1000;
  const claims = (extra: Record<string, unknown> = {}) => ({
    ...claimsFor(issuer, AUDIENCE, seconds, { exp: seconds + 3 * 3600 }),
    ...extra,
  });
  const sign = (key: TestKey, extra?: Record<string, unknown>) =>
    signToken(key, { payload: claims(extra) });
  const valid = sign(main);
  const [header, , signature] = valid.split(".");
  const tampered = `${header}.${Buffer.from(JSON.stringify(claims({ scope: "admin:items" }))).toString("base64url")}.${signature}`;

  const plan: ConformancePlan = {
    issuer,
    audience: AUDIENCE,
    jwks: {
      valid: `${origin}${PATHS.valid}`,
      rotating: `${origin}${PATHS.rotating}`,
      down: `${origin}${PATHS.down}`,
      flaky: `${origin}${PATHS.flaky}`,
      hostile: `${origin}${PATHS.hostile}`,
      gated: `${origin}${PATHS.gated}`,
    },
    tokenEndpoint: `${origin}${PATHS.token}`,
    clock: START,
    algorithms: [...ALGORITHMS],
    tokens: {
      valid,
      another: sign(main, { jti: "another" }),
      wrongIssuer: sign(main, { iss: "https://elsewhere.example/" }),
      wrongAudience: sign(main, { aud: "https://other-api.example" }),
      expired: sign(main, { iat: seconds - 7200, exp: seconds - 3600 }),
      tampered,
      rotatedIn: sign(rotated),
      neverPublished: sign({ ...rotated, kid: "never-published" }),
      byAlgorithm: Object.fromEntries(byAlgorithm.map((key) => [key.alg, sign(key)])),
      forgedExponentOne: forgeForExponentOne(
        withExponent(main.publicJwk, 1n, "rsa-e-1"),
        {},
        claims(),
      ),
      forgedSmallOrder: forgeForSmallOrderEd25519("ed25519-small-order", {}, claims()),
      zeroSignature: `${sign(ec).split(".").slice(0, 2).join(".")}.${Buffer.alloc(64).toString("base64url")}`,
    },
    dpop: await dpopPlan(),
  };

  // A token bound to the first proof key; two proofs of it, and one naming it but signed by another.
  async function dpopPlan(): Promise<ConformancePlan["dpop"]> {
    const [p256, other] = proofKeys as [TestKey, TestKey];
    const url = `${origin}/trpc/whoami`;
    const jkt = await thumbprintOf(p256);
    const token = sign(main, { cnf: { jkt } });
    const proof = (key: TestKey, header?: Record<string, unknown>) =>
      signProof(key, { url, accessToken: token, iat: seconds, header });
    return {
      url,
      token,
      jkt,
      proofs: [proof(p256), proof(p256)],
      wrongSigner: proof(other, { jwk: p256.publicJwk }),
    };
  }

  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    origin,
    plan,
    liveToken: (extra) =>
      signToken(main, {
        payload: claimsFor(issuer, AUDIENCE, Math.floor(Date.now() / 1000), extra),
      }),
    closeGate() {
      held ??= [];
    },
    openGate() {
      const waiting = held ?? [];
      held = undefined;
      for (const answer of waiting) answer();
    },
    count: (path) => counts.get(path) ?? 0,
    close,
    [Symbol.asyncDispose]: close,
  };
}
