import { createHash, createHmac } from "node:crypto";
import { generateTestKey, signBytes, type TestKeySpec } from "@repo/test-utils";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CryptoBackend, PublicJwk } from "./backend.js";
import { decodeBase64urlBytes, encodeBase64url } from "./base64url-codec.js";
import { cryptoBackend as nodeBackend } from "./node.js";
import { cryptoBackend as webBackend } from "./web.js";

// Both backends run here (Node has WebCrypto too), so the one other runtimes use is checked
// against node:crypto on the same inputs.
const backends = [
  ["node:crypto", nodeBackend],
  ["WebCrypto", webBackend],
] as const satisfies readonly (readonly [string, CryptoBackend])[];

const publicJwk = (jwk: Record<string, unknown>): PublicJwk => {
  const { kty, crv, n, e, x, y } = jwk;
  if (kty === "RSA") return { kty, n, e } as PublicJwk;
  return (kty === "EC" ? { kty, crv, x, y } : { kty, crv, x }) as PublicJwk;
};

const specs: TestKeySpec[] = [
  { alg: "RS256" },
  { alg: "RS512" },
  { alg: "PS256" },
  { alg: "PS384" },
  { alg: "ES256" },
  { alg: "ES384" },
  { alg: "ES512" },
  { alg: "EdDSA" },
];

describe.each(backends)("the %s backend", (_, backend) => {
  it.each(specs)("verifies $alg signatures and refuses altered ones", async (spec) => {
    const key = generateTestKey(`key-${spec.alg}`, spec);
    const prepared = await backend.importPublicKey(publicJwk(key.publicJwk), [spec.alg]);
    const verifyKey = prepared?.get(spec.alg);
    expect(verifyKey).toBeDefined();
    const verify = async (input: string, signature: Uint8Array) =>
      backend.verify(spec.alg, verifyKey as object, input, signature);
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_.-]{0,300}$/), async (input) => {
        const signature = signBytes(spec.alg, key.privateKey, input);
        expect(await verify(input, signature)).toBe(true);
        const altered = Uint8Array.from(signature);
        altered[altered.length >> 1] = (signature[signature.length >> 1] ?? 0) ^ 1;
        expect(await verify(input, altered)).toBe(false);
        expect(await verify(`${input}x`, signature)).toBe(false);
        expect(await verify(input, signature.subarray(1))).toBe(false);
      }),
      { numRuns: 20 },
    );
  });

  it.each(["RS256", "PS256"] as const)(
    "refuses an %s signature one octet short, its leading zero dropped (RFC 8017 §8)",
    async (alg) => {
      const key = generateTestKey(`short-${alg}`, { alg });
      const prepared = await backend.importPublicKey(publicJwk(key.publicJwk), [alg]);
      // About one signature in 256 starts with a zero octet; the same integer without it is
      // another spelling of that signature, which OpenSSL's PSS check takes.
      let input = "";
      let signature: Uint8Array = new Uint8Array([1]);
      for (let i = 0; signature[0] !== 0; i++) {
        input = `input-${i}`;
        signature = signBytes(alg, key.privateKey, input);
      }
      const verifyKey = prepared?.get(alg) as object;
      expect(await backend.verify(alg, verifyKey, input, signature)).toBe(true);
      expect(await backend.verify(alg, verifyKey, input, signature.subarray(1))).toBe(false);
      const padded = new Uint8Array(signature.length + 1);
      padded.set(signature, 1);
      expect(await backend.verify(alg, verifyKey, input, padded)).toBe(false);
    },
  );

  it("prepares a key only for the algorithms asked for", async () => {
    const key = generateTestKey("rsa");
    const prepared = await backend.importPublicKey(publicJwk(key.publicJwk), ["RS256", "PS512"]);
    expect([...(prepared?.keys() ?? [])]).toEqual(["RS256", "PS512"]);
  });

  it("refuses key material the runtime cannot read", async () => {
    const broken: PublicJwk = { kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA" };
    expect(await backend.importPublicKey(broken, ["ES256"])).toBeUndefined();
  });

  it("hashes like SHA-256 (FIPS 180-4)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (text) => {
        const expected = createHash("sha256").update(text).digest("base64url");
        expect(backend.sha256Base64url(text)).toBe(expected);
      }),
    );
    expect(backend.sha256Base64url("abc")).toBe("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  });

  it("computes HMAC-SHA-256 like node:crypto (RFC 2104), short and long keys", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 150 }),
        fc.uint8Array({ maxLength: 200 }),
        (key, data) => {
          const expected = createHmac("sha256", key).update(data).digest();
          expect(Buffer.from(backend.hmacSha256(key, data))).toEqual(expected);
        },
      ),
    );
  });

  it("decodes base64url like Buffer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = Buffer.from(bytes).toString("base64url");
        expect(Buffer.from(backend.decodeBase64url(text))).toEqual(Buffer.from(bytes));
      }),
    );
  });
});

describe("base64url without Buffer", () => {
  it("encodes and decodes like Buffer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = encodeBase64url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString("base64url"));
        expect(Buffer.from(decodeBase64urlBytes(text))).toEqual(Buffer.from(bytes));
      }),
    );
  });
});
