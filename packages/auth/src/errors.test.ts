import { describe, expect, it } from "vitest";
import {
  AuthError,
  type AuthErrorCode,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  isAuthError,
  KeysUnavailableError,
  MissingTokenError,
} from "./errors.js";

describe("AuthError subclasses", () => {
  const cases: [AuthError, string, AuthErrorCode, number, string | undefined][] = [
    [new MissingTokenError(), "MissingTokenError", "ERR_AUTH_MISSING_TOKEN", 401, undefined],
    [
      new InvalidRequestError(),
      "InvalidRequestError",
      "ERR_AUTH_INVALID_REQUEST",
      400,
      "invalid_request",
    ],
    [
      new InvalidTokenError("signature"),
      "InvalidTokenError",
      "ERR_AUTH_INVALID_TOKEN",
      401,
      "invalid_token",
    ],
    [
      new InsufficientScopeError(["a"], ["a"]),
      "InsufficientScopeError",
      "ERR_AUTH_INSUFFICIENT_SCOPE",
      403,
      "insufficient_scope",
    ],
    [
      new KeysUnavailableError(5),
      "KeysUnavailableError",
      "ERR_AUTH_KEYS_UNAVAILABLE",
      503,
      undefined,
    ],
  ];

  it.each(cases)(
    "%o carries name, code, status and RFC 6750 code",
    (error, name, code, status, oauth) => {
      expect(error).toBeInstanceOf(AuthError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
      expect(error.status).toBe(status);
      expect(error.oauthError).toBe(oauth);
      expect(isAuthError(error)).toBe(true);
    },
  );

  it("keeps the cause", () => {
    const cause = new Error("socket hang up");
    expect(new KeysUnavailableError(1, { cause }).cause).toBe(cause);
    expect(new InvalidTokenError("malformed", { cause }).cause).toBe(cause);
  });

  it("gives the reason and the claim name of an invalid token", () => {
    const error = new InvalidTokenError("missing_claim", { claim: "sub" });
    expect(error.reason).toBe("missing_claim");
    expect(error.claim).toBe("sub");
  });

  it("rounds Retry-After up to whole seconds, at least one", () => {
    expect(new KeysUnavailableError(0).retryAfter).toBe(1);
    expect(new KeysUnavailableError(29.01).retryAfter).toBe(30);
  });

  it("freezes the scope lists", () => {
    const error = new InsufficientScopeError(["a", "b"], ["b"], "any");
    expect(Object.isFrozen(error.requiredScopes)).toBe(true);
    expect(error.missingScopes).toEqual(["b"]);
    expect(error.match).toBe("any");
  });

  it("does not mistake other errors for AuthErrors", () => {
    expect(isAuthError(new Error("x"))).toBe(false);
    expect(isAuthError({ code: "ERR_AUTH_INVALID_TOKEN", status: 401 })).toBe(false);
  });
});
