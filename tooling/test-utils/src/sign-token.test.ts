import { constants, createPublicKey, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { claimsFor } from "./access-token-claims.js";
import { b64url, signToken } from "./sign-token.js";
import { generateTestKey, type TestKeySpec } from "./test-key.js";

const decode = (segment: string) => JSON.parse(Buffer.from(segment, "base64url").toString());

/** Checks a compact JWS with node:crypto against the public JWK, as a verifier would. */
function verifies(token: string, alg: string, jwk: Record<string, unknown>): boolean {
  const [header = "", payload = "", signature = ""] = token.split(".");
  const key = createPublicKey({ key: jwk, format: "jwk" });
  const data = Buffer.from(`${header}.${payload}`);
  const bytes = Buffer.from(signature, "base64url");
  const hash = alg.startsWith("Ed") ? null : `sha${alg.slice(2)}`;
  if (alg.startsWith("PS")) {
    const pss = {
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    };
    return verify(hash, data, { key, ...pss }, bytes);
  }
  if (alg.startsWith("ES")) return verify(hash, data, { key, dsaEncoding: "ieee-p1363" }, bytes);
  return verify(hash, data, key, bytes);
}

const SPECS: TestKeySpec[] = [
  { alg: "RS256" },
  { alg: "PS384" },
  { alg: "ES256" },
  { alg: "ES512" },
  { alg: "EdDSA" },
];

describe("signToken", () => {
  it.each(SPECS)("signs with a generated $alg key so that its public JWK verifies", (spec) => {
    const key = generateTestKey("kid-1", spec);
    expect(key.publicJwk).toMatchObject({ kid: "kid-1", alg: spec.alg, use: "sig" });
    expect(key.publicJwk).not.toHaveProperty("d");
    const token = signToken(key, { payload: { sub: "s" } });
    const [header = "", payload = ""] = token.split(".");
    expect(decode(header)).toEqual({ alg: spec.alg, typ: "JWT", kid: "kid-1" });
    expect(decode(payload)).toEqual({ sub: "s" });
    expect(verifies(token, spec.alg, key.publicJwk)).toBe(true);
  });

  it("takes any header, and signs a header naming an algorithm the key cannot produce with its own", () => {
    const key = generateTestKey("kid-2");
    const token = signToken(key, { header: { alg: "none", kid: "other", typ: "at+jwt" } });
    expect(decode(token.split(".")[0] ?? "")).toEqual({ alg: "none", typ: "at+jwt", kid: "other" });
    expect(verifies(token, "RS256", key.publicJwk)).toBe(true);
  });

  it("encodes strings, bytes and values as base64url without padding", () => {
    expect(b64url("a?")).toBe("YT8");
    expect(b64url(Buffer.from([0xfb, 0xff]))).toBe("-_8");
    expect(b64url({ a: 1 })).toBe(Buffer.from('{"a":1}').toString("base64url"));
  });
});

describe("claimsFor", () => {
  it("gives an Auth0 client-credentials token's claims, valid for an hour, with overrides", () => {
    expect(
      claimsFor("https://issuer.example/", "https://api.example", 1_000, { scope: "x" }),
    ).toEqual({
      iss: "https://issuer.example/",
      sub: "client-1@clients",
      aud: "https://api.example",
      iat: 990,
      exp: 4_600,
      scope: "x",
      azp: "client-1",
      gty: "client-credentials",
    });
  });
});
