import {
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  KeysUnavailableError,
  MissingTokenError,
} from "@repo/auth";
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { authResponseHeaders } from "./auth-response-headers.js";
import { toTRPCError } from "./to-trpc-error.js";

const trpc = (error: Error) => toTRPCError(error) as TRPCError;
const headersOf = (...errors: TRPCError[]) =>
  Object.fromEntries(authResponseHeaders(errors)?.entries() ?? []);

describe("authResponseHeaders", () => {
  it("answers each auth failure with the RFC 6750 challenge", () => {
    expect(headersOf(trpc(new MissingTokenError()))).toEqual({
      "www-authenticate": 'Bearer realm="api"',
    });
    expect(headersOf(trpc(new InvalidRequestError()))).toEqual({
      "www-authenticate": 'Bearer realm="api", error="invalid_request"',
    });
    expect(headersOf(trpc(new InvalidTokenError("expired")))).toEqual({
      "www-authenticate":
        'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
    });
    expect(headersOf(trpc(new InsufficientScopeError(["write:items"], ["write:items"])))).toEqual({
      "www-authenticate": 'Bearer realm="api", error="insufficient_scope", scope="write:items"',
    });
  });

  it("answers unavailable keys with Retry-After and no challenge", () => {
    expect(headersOf(trpc(new KeysUnavailableError(30)))).toEqual({ "retry-after": "30" });
  });

  it("names every scope the failed calls of a batch need in one challenge", () => {
    const headers = headersOf(
      trpc(new InsufficientScopeError(["write:items"], ["write:items"])),
      trpc(new InsufficientScopeError(["read:items"], ["read:items"])),
    );
    expect(headers).toEqual({
      "www-authenticate":
        'Bearer realm="api", error="insufficient_scope", scope="write:items read:items"',
    });
  });

  it("adds nothing for errors that are not about credentials", () => {
    expect(authResponseHeaders([new TRPCError({ code: "BAD_REQUEST" })])).toBeUndefined();
    expect(authResponseHeaders([])).toBeUndefined();
  });

  it("maps each auth failure to the tRPC code of its status, keeping the cause", () => {
    const cases = [
      [new MissingTokenError(), "UNAUTHORIZED"],
      [new InvalidRequestError(), "BAD_REQUEST"],
      [new InvalidTokenError("signature"), "UNAUTHORIZED"],
      [new InsufficientScopeError(["a"], ["a"]), "FORBIDDEN"],
      [new KeysUnavailableError(5), "SERVICE_UNAVAILABLE"],
    ] as const;
    for (const [error, code] of cases) {
      const mapped = trpc(error);
      expect(mapped.code).toBe(code);
      expect(mapped.cause).toBe(error);
    }
    const bug = new TypeError("bug");
    expect(toTRPCError(bug)).toBe(bug);
  });
});
