import { claimsFor, generateTestKey, type TestKey } from "@repo/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { authErrorOf, reasonOf } from "../../test/support/expect-auth-error.js";
import {
  forgeForExponentOne,
  forgeForSmallOrderEd25519,
  modulusOf,
  offCurve,
  smallOrderEd25519,
  withExponent,
} from "../../test/support/odd-keys.js";
import {
  AUDIENCE,
  createVerifierFixture,
  type VerifierFixture,
} from "../../test/support/verifier-fixture.js";
import { KeysUnavailableError } from "../errors.js";
import type { VerifierAlgorithm, VerifierEvent } from "./types.js";
import { validateJwk } from "./validate-jwk.js";

const good = generateTestKey("good");
const rsa = generateTestKey("rsa");
const es256 = generateTestKey("es256", { alg: "ES256" });
const es384 = generateTestKey("es384", { alg: "ES384" });
const ed = generateTestKey("ed", { alg: "EdDSA" });
const ALL_ALGS: VerifierAlgorithm[] = ["RS256", "PS256", "ES256", "ES384", "EdDSA"];

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

/** A verifier over a JWKS holding the good key and `odd`, with a long cooldown (no refetches). */
async function fixtureWith(odd: readonly object[], keys: TestKey[] = [good]) {
  const fx = await createVerifierFixture(keys, { algorithms: ALL_ALGS, jwksCooldown: 3_600_000 });
  cleanup.push(() => fx.close());
  fx.server.setKeys([...odd, ...keys.map((key) => key.publicJwk)]);
  return fx;
}

const rejections = (fx: VerifierFixture) =>
  fx.events.filter(
    (event): event is Extract<VerifierEvent, { type: "jwk_rejected" }> =>
      event.type === "jwk_rejected",
  );

describe("JWK validation: keys anybody could sign for are never used", () => {
  it("drops an RSA key with e = 1, so a token forged for it is refused, and keeps the good key", async () => {
    const weak = withExponent(rsa.publicJwk, 1n, "weak");
    const fx = await fixtureWith([weak]);
    const forged = forgeForExponentOne(weak, {}, payloadOf(fx));
    expect(await reasonOf(fx.verifier.verify(forged))).toBe("unknown_key");
    await expect(fx.verifier.verify(fx.token(good))).resolves.toBeDefined();
    expect(rejections(fx)).toEqual([{ type: "jwk_rejected", kid: "weak", reason: "rsa_exponent" }]);
    expect(fx.verifier.health()).toMatchObject({ state: "fresh", keys: 1 });
  });

  it.each([
    ["e = 2", () => 2n],
    ["an even e", () => 65_536n],
    ["e = 0", () => 0n],
    ["e = n", () => modulusOf(rsa.publicJwk)],
    ["e = n + 2", () => modulusOf(rsa.publicJwk) + 2n],
  ])("drops an RSA key with %s (RFC 8017 §3.1: 3 ≤ e ≤ n − 1, odd)", async (_, exponent) => {
    const fx = await fixtureWith([withExponent(rsa.publicJwk, exponent(), "bad-e")]);
    await fx.verifier.warmUp();
    expect(rejections(fx)).toEqual([
      { type: "jwk_rejected", kid: "bad-e", reason: "rsa_exponent" },
    ]);
    expect(fx.verifier.health().keys).toBe(1);
  });

  it("keeps RSA keys with e = 3 and e = n − 2 (odd, in range)", async () => {
    const n = modulusOf(rsa.publicJwk);
    const fx = await fixtureWith([
      withExponent(rsa.publicJwk, 3n, "e3"),
      withExponent(rsa.publicJwk, n - 2n, "e-n-2"),
    ]);
    await fx.verifier.warmUp();
    expect(rejections(fx)).toEqual([]);
    expect(fx.verifier.health().keys).toBe(3);
  });

  it("drops an even RSA modulus and one under 2048 bits", async () => {
    const even = modulusOf(rsa.publicJwk) - 1n;
    const small = generateTestKey("small", { alg: "RS256", bits: 1024 });
    const fx = await fixtureWith([
      {
        ...rsa.publicJwk,
        kid: "even-n",
        n: Buffer.from(even.toString(16), "hex").toString("base64url"),
      },
      small.publicJwk,
    ]);
    await fx.verifier.warmUp();
    expect(rejections(fx)).toEqual([
      { type: "jwk_rejected", kid: "even-n", reason: "rsa_modulus" },
      { type: "jwk_rejected", kid: "small", reason: "rsa_modulus" },
    ]);
  });

  it("drops an Ed25519 key of small order, so a signature forged for any message is refused", async () => {
    const fx = await fixtureWith([smallOrderEd25519("identity")], [good, ed]);
    const forged = forgeForSmallOrderEd25519("identity", {}, payloadOf(fx));
    expect(await reasonOf(fx.verifier.verify(forged))).toBe("unknown_key");
    await expect(fx.verifier.verify(fx.token(ed))).resolves.toBeDefined();
    expect(rejections(fx)).toEqual([
      { type: "jwk_rejected", kid: "identity", reason: "invalid_point" },
    ]);
  });

  it("drops an EC key whose point is off its curve", async () => {
    const fx = await fixtureWith([offCurve(es256.publicJwk, "off-curve")], [good, es256]);
    await expect(fx.verifier.verify(fx.token(es256))).resolves.toBeDefined();
    expect(rejections(fx)).toEqual([
      { type: "jwk_rejected", kid: "off-curve", reason: "invalid_point" },
    ]);
  });
});

describe("JWK validation: malformed, private and inconsistent keys", () => {
  it("drops a key with private members or a symmetric key, and keeps using the others", async () => {
    const privateJwk = { ...rsa.privateKey.export({ format: "jwk" }), kid: "private" };
    const fx = await fixtureWith([privateJwk, { kty: "oct", k: "c2VjcmV0", kid: "secret" }]);
    await expect(fx.verifier.verify(fx.token(good))).resolves.toBeDefined();
    expect(await reasonOf(fx.verifier.verify(fx.token({ ...rsa, kid: "private" })))).toBe(
      "unknown_key",
    );
    expect(rejections(fx)).toEqual([
      { type: "jwk_rejected", kid: "private", reason: "private_key" },
      { type: "jwk_rejected", kid: "secret", reason: "private_key" },
    ]);
    const reported = JSON.stringify(fx.events);
    expect(reported).not.toContain(String(privateJwk.d));
    expect(reported).not.toContain("c2VjcmV0");
  });

  it.each([
    ["ES256 on a P-384 key", { ...es384.publicJwk, alg: "ES256" }],
    ["ES384 on a P-256 key", { ...es256.publicJwk, alg: "ES384" }],
    ["RS256 on an EC key", { ...es256.publicJwk, alg: "RS256" }],
    ["ES256 on an RSA key", { ...rsa.publicJwk, alg: "ES256" }],
    ["EdDSA on an EC key", { ...es256.publicJwk, alg: "EdDSA" }],
    ["an Edwards curve on an EC key", { ...es256.publicJwk, crv: "Ed25519", alg: undefined }],
    ["a NIST curve on an OKP key", { ...ed.publicJwk, crv: "P-256", alg: undefined }],
  ])("drops a key whose kty, crv and alg disagree: %s", async (_, jwk) => {
    const fx = await fixtureWith([{ ...jwk, kid: "mismatch" }]);
    await fx.verifier.warmUp();
    expect(rejections(fx)).toEqual([
      { type: "jwk_rejected", kid: "mismatch", reason: "inconsistent" },
    ]);
  });

  it.each([
    ["a kid that is not a string", { ...rsa.publicJwk, kid: 7 }, undefined, "malformed"],
    [
      "an alg that is not a string",
      { ...rsa.publicJwk, kid: "k", alg: ["RS256"] },
      "k",
      "malformed",
    ],
    [
      "n that is not base64url",
      { ...rsa.publicJwk, kid: "k", n: `${rsa.publicJwk.n}+` },
      "k",
      "malformed",
    ],
    ["a missing e", { ...rsa.publicJwk, kid: "k", e: undefined }, "k", "malformed"],
    ["x of the wrong length", { ...es256.publicJwk, kid: "k", x: "AAAA" }, "k", "invalid_point"],
    [
      "an Ed25519 x of 31 bytes",
      { ...ed.publicJwk, kid: "k", x: "A".repeat(42) },
      "k",
      "invalid_point",
    ],
  ])("drops a malformed key: %s", async (_, jwk, kid, reason) => {
    const fx = await fixtureWith([jwk]);
    await fx.verifier.warmUp();
    expect(rejections(fx)).toEqual([{ type: "jwk_rejected", kid, reason }]);
    expect(fx.verifier.health().keys).toBe(1);
  });

  it("skips keys that are only unusable here (not for signatures, other algorithms) without a report", async () => {
    const fx = await fixtureWith([
      { ...rsa.publicJwk, kid: "enc", use: "enc" },
      { ...rsa.publicJwk, kid: "wrap", key_ops: ["wrapKey"] },
      { ...rsa.publicJwk, kid: "oaep", alg: "RSA-OAEP" },
      { kty: "EC", crv: "secp256k1", kid: "k1", x: "AA", y: "AA" },
    ]);
    await fx.verifier.warmUp();
    expect(rejections(fx)).toEqual([]);
    expect(fx.verifier.health().keys).toBe(1);
  });

  it("a set whose only keys are invalid has no usable key: 503 at start, and each key is reported", async () => {
    const fx = await fixtureWith(
      [withExponent(rsa.publicJwk, 1n, "weak"), smallOrderEd25519("id")],
      [],
    );
    const error = await authErrorOf(fx.verifier.verify(fx.token(good)));
    expect(error).toBeInstanceOf(KeysUnavailableError);
    expect(fx.verifier.health()).toMatchObject({ state: "down", keys: 0 });
    expect(rejections(fx).map((event) => event.reason)).toEqual(["rsa_exponent", "invalid_point"]);
    expect(fx.events).toContainEqual(
      expect.objectContaining({ type: "jwks_fetch_failed", reason: "invalid_document" }),
    );
  });

  it("reports a very long kid shortened", async () => {
    const fx = await fixtureWith([withExponent(rsa.publicJwk, 1n, "k".repeat(10_000))]);
    await fx.verifier.warmUp();
    const [event] = rejections(fx);
    expect(event?.kid?.length).toBeLessThanOrEqual(100);
  });
});

function payloadOf(fx: VerifierFixture): Record<string, unknown> {
  return claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds());
}

// The curve check is this package's own (not OpenSSL's, which WebCrypto runtimes may not share):
// every runtime must refuse the same points.
describe("JWK validation: EC points, by the package's own curve arithmetic", () => {
  const curves = [
    ["P-256", generateTestKey("p256", { alg: "ES256" })],
    ["P-384", generateTestKey("p384", { alg: "ES384" })],
    ["P-521", generateTestKey("p521", { alg: "ES512" })],
  ] as const;

  it.each(curves)("accepts a %s point on the curve", (_, key) => {
    expect(validateJwk(key.publicJwk)).toMatchObject({
      publicJwk: { kty: "EC", crv: key.publicJwk.crv },
    });
  });

  it.each(curves)("refuses a %s point off the curve", (_, key) => {
    expect(validateJwk(offCurve(key.publicJwk, "off"))).toEqual({ rejected: "invalid_point" });
  });

  it("refuses a coordinate not reduced modulo p, though it satisfies the equation", () => {
    // A point with a small x, so that x + p still fits in 32 bytes: same point modulo p, but a
    // second encoding of it.
    const { x, y } = smallPointP256();
    const point = { kty: "EC", crv: "P-256", x: encode(x), y: encode(y) };
    expect(validateJwk(point)).toMatchObject({ publicJwk: point });
    expect(validateJwk({ ...point, x: encode(x + P256) })).toEqual({ rejected: "invalid_point" });
  });
});

const P256 = (1n << 256n) - (1n << 224n) + (1n << 192n) + (1n << 96n) - 1n;
const B256 = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function power(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  for (let b = base % modulus, e = exponent; e > 0n; e >>= 1n, b = (b * b) % modulus) {
    if (e & 1n) result = (result * b) % modulus;
  }
  return result;
}

/** The P-256 point with the smallest x (p ≡ 3 mod 4, so a square root is one power away). */
function smallPointP256(): { x: bigint; y: bigint } {
  for (let x = 0n; ; x++) {
    const rhs = (((x * x * x - 3n * x + B256) % P256) + P256) % P256;
    const y = power(rhs, (P256 + 1n) / 4n, P256);
    if ((y * y) % P256 === rhs) return { x, y };
  }
}

/** A 32-byte big-endian coordinate, as base64url. */
const encode = (value: bigint) =>
  Buffer.from(value.toString(16).padStart(64, "0"), "hex").toString("base64url");
