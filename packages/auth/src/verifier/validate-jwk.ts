import type { PublicJwk } from "../crypto/backend.js";
import { decodeBase64url } from "./base64url.js";
import { type JwkRejectionReason, SUPPORTED_ALGORITHMS } from "./types.js";

/** What {@link validateJwk} decided about one JWK. */
export type JwkVerdict =
  /** Sound: its public members only, and the JWS algorithms its type and curve sign with. */
  | { publicJwk: PublicJwk; algorithms: readonly string[] }
  /** Invalid or dangerous: reported, never used. */
  | { rejected: JwkRejectionReason }
  /** A sound key that is simply not a signature key this verifier knows: dropped silently. */
  | { skipped: true };

// Members only private or symmetric keys have (RFC 7518 §6.2.2, §6.3.2, §6.4).
const SECRET_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"] as const;

const MIN_RSA_BITS = 2048;
const RSA_ALGORITHMS: readonly string[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];

interface Curve {
  kty: "EC" | "OKP";
  /** The JWS algorithms that sign with keys on this curve (RFC 7518 §3.4, RFC 8037, RFC 9864). */
  algorithms: readonly string[];
  /** Octets of each coordinate (EC) or of the encoded point (OKP). */
  size: number;
}

// Maps: `crv` and `kty` come from a document, and "constructor" must not find a prototype member.
const CURVES: ReadonlyMap<string, Curve> = new Map([
  ["P-256", { kty: "EC", algorithms: ["ES256"], size: 32 }],
  ["P-384", { kty: "EC", algorithms: ["ES384"], size: 48 }],
  ["P-521", { kty: "EC", algorithms: ["ES512"], size: 66 }],
  ["Ed25519", { kty: "OKP", algorithms: ["EdDSA", "Ed25519"], size: 32 }],
  ["Ed448", { kty: "OKP", algorithms: ["EdDSA"], size: 57 }],
]);
const KEY_TYPES: ReadonlySet<string> = new Set(["RSA", "EC", "OKP"]);
const KNOWN_ALGORITHMS: ReadonlySet<string> = new Set(SUPPORTED_ALGORITHMS);

// Big-endian, as JWK integers and coordinates are encoded.
function toBigInt(bytes: Uint8Array): bigint {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex === "" ? 0n : BigInt(`0x${hex}`);
}

/** Reads string members as canonical base64url; `undefined` when one is missing or malformed. */
function members(jwk: Record<string, unknown>, names: readonly string[]): Uint8Array[] | undefined {
  const decoded: Uint8Array[] = [];
  for (const name of names) {
    const value = jwk[name];
    const bytes = typeof value === "string" ? decodeBase64url(value) : undefined;
    if (bytes === undefined || bytes.length === 0) return undefined;
    decoded.push(bytes);
  }
  return decoded;
}

// RFC 8017 §3.1: n odd and (here) at least 2048 bits; 3 ≤ e ≤ n − 1 and e odd. With e = 1 the
// "signature" is the padded hash itself, so anybody can produce one. Leading zero octets in `n`
// (a common encoder slip) are tolerated: they do not change the key.
function checkRsa(jwk: Record<string, unknown>): JwkVerdict {
  const parts = members(jwk, ["n", "e"]);
  if (parts === undefined) return { rejected: "malformed" };
  const [n, e] = parts.map(toBigInt) as [bigint, bigint];
  if (n % 2n === 0n || n < 1n << BigInt(MIN_RSA_BITS - 1)) return { rejected: "rsa_modulus" };
  if (e < 3n || e % 2n === 0n || e >= n) return { rejected: "rsa_exponent" };
  return {
    publicJwk: { kty: "RSA", n: jwk.n as string, e: jwk.e as string },
    algorithms: RSA_ALGORITHMS,
  };
}

// Short Weierstrass curves y² = x³ − 3x + b over GF(p) (FIPS 186-5, SEC 2). Every point on them
// lies in the prime-order group (cofactor 1), so a point on the curve is a sound public key.
const WEIERSTRASS: ReadonlyMap<string, { p: bigint; b: bigint }> = new Map([
  [
    "P-256",
    {
      p: (1n << 256n) - (1n << 224n) + (1n << 192n) + (1n << 96n) - 1n,
      b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    },
  ],
  [
    "P-384",
    {
      p: (1n << 384n) - (1n << 128n) - (1n << 96n) + (1n << 32n) - 1n,
      b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    },
  ],
  [
    "P-521",
    {
      p: (1n << 521n) - 1n,
      b: 0x51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    },
  ],
]);

// Checked here rather than left to the runtime: OpenSSL refuses a point off its curve, but not
// every WebCrypto implementation is known to, and a key must mean the same on every runtime.
function isOnCurve(crv: string, xBytes: Uint8Array, yBytes: Uint8Array): boolean {
  const curve = WEIERSTRASS.get(crv);
  if (curve === undefined) return false;
  const { p, b } = curve;
  const x = toBigInt(xBytes);
  const y = toBigInt(yBytes);
  if (x >= p || y >= p) return false;
  return (y * y - (x * x * x - 3n * x + b)) % p === 0n;
}

// Edwards points of small order, by their y coordinate (RFC 8032 §5.1.3, §5.2.3). With such a
// public key a signature with R = identity and S = 0 verifies for many or all messages; OpenSSL
// accepts it, so the key is refused here. Non-canonical encodings (y ≥ p) are refused as well.
const ED25519_P = (1n << 255n) - 19n;
const ED25519_ORDER8_Y =
  2707385501144840649318225287225658788936804267575313519463743609750303402022n;
const ED448_P = (1n << 448n) - (1n << 224n) - 1n;
const EDWARDS: ReadonlyMap<string, { p: bigint; smallOrder: readonly bigint[] }> = new Map([
  [
    "Ed25519",
    {
      p: ED25519_P,
      smallOrder: [0n, 1n, ED25519_P - 1n, ED25519_ORDER8_Y, ED25519_P - ED25519_ORDER8_Y],
    },
  ],
  ["Ed448", { p: ED448_P, smallOrder: [0n, 1n, ED448_P - 1n] }],
]);

function isSoundEdwardsPoint(crv: string, encoded: Uint8Array): boolean {
  const curve = EDWARDS.get(crv);
  if (curve === undefined) return false;
  // Little-endian y; the top bit of the last octet is the sign of x (Ed448: the whole last octet
  // but that bit must be zero).
  const bytes = Uint8Array.from(encoded).reverse();
  const signOctet = bytes[0] ?? 0;
  if (crv === "Ed448" && (signOctet & 0x7f) !== 0) return false;
  bytes[0] = signOctet & 0x7f;
  const y = toBigInt(bytes);
  return y < curve.p && !curve.smallOrder.includes(y);
}

function checkCurveKey(jwk: Record<string, unknown>, crv: string, curve: Curve): JwkVerdict {
  const names = curve.kty === "EC" ? ["x", "y"] : ["x"];
  const parts = members(jwk, names);
  if (parts === undefined) return { rejected: "malformed" };
  if (parts.some((part) => part.length !== curve.size)) return { rejected: "invalid_point" };
  const [x, y] = parts as [Uint8Array, Uint8Array | undefined];
  if (curve.kty === "OKP") {
    if (!isSoundEdwardsPoint(crv, x)) return { rejected: "invalid_point" };
    return { publicJwk: { kty: "OKP", crv, x: jwk.x as string }, algorithms: curve.algorithms };
  }
  if (y === undefined || !isOnCurve(crv, x, y)) return { rejected: "invalid_point" };
  return {
    publicJwk: { kty: "EC", crv, x: jwk.x as string, y: jwk.y as string },
    algorithms: curve.algorithms,
  };
}

function isSignatureKey(jwk: Record<string, unknown>): boolean {
  if (jwk.use !== undefined && jwk.use !== "sig") return false;
  const ops = jwk.key_ops;
  return ops === undefined || (Array.isArray(ops) && ops.includes("verify"));
}

/**
 * Checks one JWK before anything is verified with it, with the same code on every runtime, and
 * keeps only its public members (so extension members cannot change what is imported):
 * - private or symmetric material (`d`, `p`, `k`, `kty: "oct"`, …) → `private_key`;
 * - `kid` or `alg` that is not a string, a missing or non-base64url member → `malformed`;
 * - `kty`, `crv` and a known JWS `alg` that do not fit together → `inconsistent`;
 * - RSA: `n` even or under 2048 bits → `rsa_modulus`; `e` < 3, even or ≥ n → `rsa_exponent`;
 * - EC/OKP: wrong coordinate size, point off the curve, Edwards point of small order or
 *   non-canonical → `invalid_point`.
 * Keys for encryption, of other key types or curves, or naming an `alg` outside
 * {@link SUPPORTED_ALGORITHMS}, are skipped without a report: they are not wrong, only not ours.
 */
export function validateJwk(jwk: Record<string, unknown>): JwkVerdict {
  if (jwk.kty === "oct" || SECRET_MEMBERS.some((member) => member in jwk)) {
    return { rejected: "private_key" };
  }
  if (!isSignatureKey(jwk)) return { skipped: true };
  const { kty, alg, crv } = jwk;
  if (jwk.kid !== undefined && typeof jwk.kid !== "string") return { rejected: "malformed" };
  if (typeof kty !== "string" || (alg !== undefined && typeof alg !== "string")) {
    return { rejected: "malformed" };
  }
  if (!KEY_TYPES.has(kty) || (alg !== undefined && !KNOWN_ALGORITHMS.has(alg))) {
    return { skipped: true };
  }
  if (kty === "RSA") {
    if (alg !== undefined && !RSA_ALGORITHMS.includes(alg)) return { rejected: "inconsistent" };
    return checkRsa(jwk);
  }
  if (typeof crv !== "string") return { rejected: "malformed" };
  const curve = CURVES.get(crv);
  if (curve === undefined) return { skipped: true };
  if (curve.kty !== kty || (alg !== undefined && !curve.algorithms.includes(alg))) {
    return { rejected: "inconsistent" };
  }
  return checkCurveKey(jwk, crv, curve);
}
