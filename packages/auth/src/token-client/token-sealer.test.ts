import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { tokenSealer } from "./token-sealer.js";
import type { TokenSet } from "./types.js";

const tokenSet: TokenSet = {
  accessToken: "header.payload.signature",
  tokenType: "Bearer",
  expiresAt: 2_000_000,
  issuedAt: 1_000_000,
  scope: "read:items",
};

describe("tokenSealer", () => {
  it("stores JSON without a key, and reads back only token sets", () => {
    const sealer = tokenSealer();
    const sealed = sealer.seal("k", tokenSet);
    expect(JSON.parse(sealed)).toEqual(tokenSet);
    expect(sealer.open("k", sealed)).toEqual(tokenSet);
    expect(sealer.open("k", null)).toBeUndefined();
    expect(sealer.open("k", "not json")).toBeUndefined();
    const bound = { ...tokenSet, tokenType: "DPoP" as const };
    expect(sealer.open("k", sealer.seal("k", bound))).toEqual(bound);
    expect(sealer.open("k", JSON.stringify({ ...tokenSet, tokenType: "MAC" }))).toBeUndefined();
    expect(sealer.open("k", JSON.stringify({ ...tokenSet, accessToken: "" }))).toBeUndefined();
  });

  it("encrypts with a key: the token is not readable, and only the same key opens it", () => {
    const sealer = tokenSealer("shared secret");
    const sealed = sealer.seal("k", tokenSet);
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(sealed).not.toContain(tokenSet.accessToken);
    expect(sealer.seal("k", tokenSet)).not.toBe(sealed);
    expect(tokenSealer("shared secret").open("k", sealed)).toEqual(tokenSet);
    expect(tokenSealer("another secret").open("k", sealed)).toBeUndefined();
    expect(tokenSealer().open("k", sealed)).toBeUndefined();
    expect(sealer.open("k", JSON.stringify(tokenSet))).toBeUndefined();
  });

  it("binds a sealed value to its store key, so it cannot be moved to another", () => {
    const sealer = tokenSealer("shared secret");
    expect(sealer.open("other", sealer.seal("k", tokenSet))).toBeUndefined();
  });

  it("takes 32 bytes as they are, and refuses keys of another length", () => {
    const bytes = randomBytes(32);
    expect(tokenSealer(bytes).open("k", tokenSealer(bytes).seal("k", tokenSet))).toEqual(tokenSet);
    expect(() => tokenSealer(randomBytes(16))).toThrow(
      new TypeError("encryptionKey must be 32 bytes"),
    );
  });
});
