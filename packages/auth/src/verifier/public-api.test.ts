import { describe, expectTypeOf, it } from "vitest";
import {
  type AccessTokenClaims,
  type AccessTokenVerifier,
  type AuthErrorCode,
  type AuthenticatedClaims,
  buildWwwAuthenticate,
  createAccessTokenVerifier,
  type DpopProofReason,
  grantedScopes,
  type InvalidTokenReason,
  parseAuthorizationHeader,
  requireScopes,
  type VerifierEvent,
  type VerifierHealth,
} from "../index.js";

describe("the public verifier API (types)", () => {
  it("verify and authenticate resolve to typed claims", () => {
    expectTypeOf(createAccessTokenVerifier).returns.toEqualTypeOf<AccessTokenVerifier>();
    expectTypeOf<
      AccessTokenVerifier["verify"]
    >().returns.resolves.toEqualTypeOf<AccessTokenClaims>();
    expectTypeOf<
      AccessTokenVerifier["authenticate"]
    >().returns.resolves.toEqualTypeOf<AccessTokenClaims>();
    expectTypeOf<AccessTokenClaims["sub"]>().toEqualTypeOf<string>();
    expectTypeOf<AccessTokenClaims["exp"]>().toEqualTypeOf<number>();
    expectTypeOf<AccessTokenClaims["scope"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<AccessTokenClaims["permissions"]>().toEqualTypeOf<string[] | undefined>();
  });

  it("health is the shape the API reports", () => {
    expectTypeOf<VerifierHealth>().toEqualTypeOf<{
      state: "fresh" | "stale" | "down";
      keys: number;
      lastRefreshAt: number | null;
    }>();
  });

  it("events carry codes and reasons, never a token", () => {
    expectTypeOf<Extract<VerifierEvent, { type: "token_rejected" }>>().toEqualTypeOf<{
      type: "token_rejected";
      code: AuthErrorCode;
      reason?: InvalidTokenReason;
      proofReason?: DpopProofReason;
    }>();
  });

  it("authenticateRequest resolves to the claims and the DPoP binding", () => {
    expectTypeOf<
      AccessTokenVerifier["authenticateRequest"]
    >().returns.resolves.toEqualTypeOf<AuthenticatedClaims>();
    expectTypeOf<NonNullable<AuthenticatedClaims["dpop"]>["jkt"]>().toEqualTypeOf<string>();
    expectTypeOf<AuthenticatedClaims>().toExtend<AccessTokenClaims>();
  });

  it("helpers take what frameworks hand over", () => {
    expectTypeOf<string | string[] | null | undefined>().toExtend<
      Parameters<typeof parseAuthorizationHeader>[0]
    >();
    expectTypeOf(parseAuthorizationHeader).returns.toEqualTypeOf<string>();
    expectTypeOf(buildWwwAuthenticate).returns.toEqualTypeOf<string | undefined>();
    expectTypeOf(requireScopes).returns.toEqualTypeOf<void>();
    expectTypeOf(grantedScopes).returns.toEqualTypeOf<string[]>();
    expectTypeOf<AccessTokenClaims>().toExtend<Parameters<typeof requireScopes>[0]>();
  });
});
