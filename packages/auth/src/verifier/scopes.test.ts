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

  describe("with Auth0 RBAC permissions", () => {
    const rbac = { scope: "read:items", permissions: ["write:items", 7, ""] };

    it("reads only scope and scp by default", () => {
      expect(grantedScopes(rbac)).toEqual(["read:items"]);
      expect(() => requireScopes(rbac, ["write:items"])).toThrow(InsufficientScopeError);
    });

    it("from permissions reads only the permissions array", () => {
      expect(grantedScopes(rbac, "permissions")).toEqual(["write:items"]);
      expect(() => requireScopes(rbac, ["write:items"], { from: "permissions" })).not.toThrow();
      expect(() => requireScopes(rbac, ["read:items"], { from: "permissions" })).toThrow(
        InsufficientScopeError,
      );
      // A space-separated string is not Auth0's shape: it grants nothing rather than being split.
      expect(grantedScopes({ permissions: "write:items admin" }, "permissions")).toEqual([]);
    });

    it("from either counts both claims", () => {
      expect(() =>
        requireScopes(rbac, ["read:items", "write:items"], { from: "either" }),
      ).not.toThrow();
      let error: unknown;
      try {
        requireScopes(rbac, ["write:items", "admin"], { from: "either" });
      } catch (caught) {
        error = caught;
      }
      expect((error as InsufficientScopeError).missingScopes).toEqual(["admin"]);
    });

    it("refuses an unknown source rather than granting nothing silently", () => {
      expect(() => requireScopes(rbac, ["read:items"], { from: "scopes" as "scope" })).toThrow(
        TypeError,
      );
    });
  });
});
