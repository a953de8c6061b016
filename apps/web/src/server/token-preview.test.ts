import { describe, expect, it } from "vitest";
import { previewToken } from "./token-preview";

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("previewToken", () => {
  it("shows alg, typ and kid and the claims, nothing else of the header", () => {
    const token = [
      segment({ alg: "RS256", typ: "at+jwt", kid: "k1", jku: "https://evil.example/jwks" }),
      segment({ sub: "dev-writer@clients", scope: "read:items" }),
      "c2lnbmF0dXJl",
    ].join(".");
    expect(previewToken(token)).toEqual({
      header: { alg: "RS256", typ: "at+jwt", kid: "k1" },
      claims: { sub: "dev-writer@clients", scope: "read:items" },
    });
  });

  it("returns undefined for opaque tokens", () => {
    expect(previewToken("2YotnFZFEjr1zCsicMWpAA")).toBeUndefined();
    expect(previewToken(`${segment([1])}.${segment("x")}.sig`)).toBeUndefined();
  });
});
