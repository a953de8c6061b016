import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConformanceHost,
  HOSTILE_REJECTIONS,
  PATHS,
  startConformanceHost,
} from "./conformance-host.js";
import type { ConformanceReport, Outcome } from "./conformance-suite.js";

const SUBJECT = "client-1@clients";

const invalidToken = (reason: string) => ({
  ok: false,
  name: "InvalidTokenError",
  code: "ERR_AUTH_INVALID_TOKEN",
  reason,
  status: 401,
  oauthError: "invalid_token",
  headers: {
    "WWW-Authenticate": expect.stringMatching(
      /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/,
    ),
  },
});

const keysUnavailable = {
  ok: false,
  name: "KeysUnavailableError",
  code: "ERR_AUTH_KEYS_UNAVAILABLE",
  status: 503,
  headers: { "Retry-After": expect.stringMatching(/^[1-9][0-9]*$/) },
};

/**
 * The conformance suite's cases, as tests: `run` starts the runtime, runs the suite in it against
 * `host` and returns its report. Every runtime must give the same answers. The host serves the
 * whole test file; the returned function gives it to the file's other tests.
 */
export function describeConformance(
  runtime: string,
  run: (host: ConformanceHost) => Promise<ConformanceReport>,
): () => ConformanceHost {
  let host: ConformanceHost;
  let report: ConformanceReport;
  const outcome = (name: string): Outcome | undefined => report[name];

  beforeAll(async () => {
    host = await startConformanceHost();
    report = await run(host);
  });
  afterAll(() => host?.close());

  describe(`@repo/auth on ${runtime}`, () => {
    it("verifies a valid token, its keys found by discovery, and from an Authorization header", () => {
      expect(outcome("valid token, keys by discovery")).toEqual({ ok: true, value: SUBJECT });
      expect(outcome("Authorization header")).toEqual({ ok: true, value: SUBJECT });
    });

    it("verifies every supported algorithm", () => {
      for (const alg of host.plan.algorithms) {
        expect(outcome(`algorithm ${alg}`), alg).toEqual({ ok: true, value: SUBJECT });
      }
    });

    it("refuses a wrong issuer, a wrong audience, an expired, a tampered token and an ECDSA signature of zeros with 401 invalid_token", () => {
      expect(outcome("wrong issuer")).toMatchObject(invalidToken("issuer"));
      expect(outcome("wrong audience")).toMatchObject(invalidToken("audience"));
      expect(outcome("expired")).toMatchObject(invalidToken("expired"));
      expect(outcome("tampered")).toMatchObject(invalidToken("signature"));
      expect(outcome("ECDSA signature of zeros")).toMatchObject(invalidToken("signature"));
    });

    it("answers a missing token with 401 and an insufficient scope with 403 (RFC 6750)", () => {
      expect(outcome("no Authorization header")).toMatchObject({
        ok: false,
        code: "ERR_AUTH_MISSING_TOKEN",
        status: 401,
        headers: { "WWW-Authenticate": 'Bearer realm="api"' },
      });
      expect(outcome("insufficient scope")).toMatchObject({
        ok: false,
        code: "ERR_AUTH_INSUFFICIENT_SCOPE",
        status: 403,
        oauthError: "insufficient_scope",
        headers: {
          "WWW-Authenticate": 'Bearer realm="api", error="insufficient_scope", scope="admin:items"',
        },
      });
    });

    it("refetches the JWKS once for an unknown kid, then not again within the cooldown", () => {
      expect(outcome("known kid")).toEqual({ ok: true, value: SUBJECT });
      expect(outcome("unknown kid, refetched")).toEqual({ ok: true, value: SUBJECT });
      expect(outcome("unknown kid within the cooldown")).toMatchObject(invalidToken("unknown_key"));
      expect(host.count(PATHS.rotating)).toBe(2);
    });

    it("answers 503 with Retry-After while no keys can be had, and serves stale keys until then", () => {
      expect(outcome("JWKS down at start")).toMatchObject(keysUnavailable);
      expect(outcome("JWKS up")).toEqual({ ok: true, value: SUBJECT });
      expect(outcome("JWKS down, stale keys serve")).toEqual({
        ok: true,
        value: { sub: SUBJECT, state: "stale" },
      });
      expect(outcome("JWKS down past the staleness bound")).toMatchObject(keysUnavailable);
      expect(host.count(PATHS.flaky)).toBeGreaterThanOrEqual(2);
    });

    it("refuses every invalid JWK with its reason, keeps the sound key, and no forged token verifies", () => {
      expect(outcome("hostile JWKS, sound key")).toEqual({ ok: true, value: SUBJECT });
      expect(outcome("hostile JWKS, rejected keys")).toEqual({
        ok: true,
        value: HOSTILE_REJECTIONS,
      });
      expect(outcome("forged for RSA e = 1")).toMatchObject(invalidToken("unknown_key"));
      expect(outcome("forged for a small-order Ed25519 key")).toMatchObject(
        invalidToken("unknown_key"),
      );
    });

    it("DPoP: accepts each proof once, refuses a replay, a wrong signer and the bound token as Bearer", () => {
      for (const i of [0, 1]) {
        expect(outcome(`DPoP proof ${i}`)).toEqual({
          ok: true,
          value: { sub: SUBJECT, jkt: host.plan.dpop.jkt },
        });
      }
      const proofError = (reason: string) => ({
        ok: false,
        code: "ERR_AUTH_INVALID_DPOP_PROOF",
        reason,
        status: 401,
        oauthError: "invalid_dpop_proof",
      });
      expect(outcome("DPoP proof replayed")).toMatchObject(proofError("replay"));
      expect(outcome("DPoP proof signed by another key")).toMatchObject(proofError("signature"));
      expect(outcome("DPoP-bound token as Bearer")).toMatchObject(invalidToken("dpop_bound"));
    });

    it("token client: concurrent calls share one request, and the token is cached", () => {
      expect(outcome("token client, concurrent calls")).toEqual({
        ok: true,
        value: { distinct: 1, requests: 1 },
      });
      expect(outcome("token client, cached")).toMatchObject({
        ok: true,
        value: { tokenRequests: 1, cacheHits: expect.any(Number) },
      });
      expect(host.count(PATHS.token)).toBe(1);
    });
  });
  return () => host;
}
