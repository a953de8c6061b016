import { describe, expect, it } from "vitest";
import { InsufficientScopeError } from "../errors.js";
import { grantedScopes, requireScopes } from "./scopes.js";

describe("grantedScopes", () => {
  it("splits scope and merges scp, without duplicates or empty entries", () => {
    expect(grantedScopes({ scope: " read:items  write:items " })).toEqual([
      "read:items",
      "write:items",
    ]);
    expect(grantedScopes({ scope: "a", scp: ["a", "b", 3] })).toEqual(["a", "b"]);
    expect(grantedScopes({ scope: 42 })).toEqual([]);
    expect(grantedScopes({})).toEqual([]);
  });
});

describe("requireScopes", () => {
  const claims = { scope: "read:items" };

  it("passes when every scope is granted", () => {
    expect(() => requireScopes(claims, ["read:items"])).not.toThrow();
    expect(() => requireScopes(claims, [])).not.toThrow();
  });

  it("throws InsufficientScopeError naming what is missing", () => {
    let error: unknown;
    try {
      requireScopes(claims, ["read:items", "write:items"]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InsufficientScopeError);
    expect((error as InsufficientScopeError).requiredScopes).toEqual(["read:items", "write:items"]);
    expect((error as InsufficientScopeError).missingScopes).toEqual(["write:items"]);
    expect((error as InsufficientScopeError).status).toBe(403);
  });

  it("with match any, one granted scope is enough", () => {
    expect(() => requireScopes(claims, ["admin", "read:items"], { match: "any" })).not.toThrow();
    expect(() => requireScopes(claims, ["admin", "write:items"], { match: "any" })).toThrow(
      InsufficientScopeError,
    );
  });

  it("does not treat a scope prefix or substring as granted", () => {
    expect(() => requireScopes({ scope: "read:items-archive" }, ["read:items"])).toThrow(
      InsufficientScopeError,
    );
    expect(() => requireScopes({ scope: "read" }, ["read:items"])).toThrow(InsufficientScopeError);
  });
});
