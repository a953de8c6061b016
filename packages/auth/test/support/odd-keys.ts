import { createHash } from "node:crypto";
import { b64url } from "@repo/test-utils";

/**
 * Public keys a broken or hostile JWKS could publish, and tokens forged for the ones that let
 * anybody sign: an RSA key with `e = 1` (then the signature is its own encoded message) and an
 * Ed25519 key of small order (then R = identity, S = 0 verifies any message).
 */

const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");

const bigIntOf = (bytes: Buffer): bigint =>
  bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString("hex")}`);

/** The big-endian base64url encoding of `value`, without leading zero octets. */
export function encodeInteger(value: bigint): string {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, "hex").toString("base64url");
}

/** The modulus of an RSA JWK as an integer. */
export const modulusOf = (jwk: Record<string, unknown>): bigint =>
  bigIntOf(Buffer.from(String(jwk.n), "base64url"));

/** `jwk` with its public exponent replaced. */
export function withExponent(jwk: Record<string, unknown>, e: bigint, kid: string) {
  return { ...jwk, kid, e: encodeInteger(e) };
}

/**
 * An RS256 signature of `input` for an RSA key whose published exponent is 1: the EMSA-PKCS1-v1_5
 * encoding of the input's hash, which needs no private key at all.
 */
export function exponentOneSignature(jwk: Record<string, unknown>, input: string): Buffer {
  const length = Buffer.from(String(jwk.n), "base64url").length;
  const digest = Buffer.concat([SHA256_DIGEST_INFO, createHash("sha256").update(input).digest()]);
  const padding = Buffer.alloc(length - 3 - digest.length, 0xff);
  return Buffer.concat([Buffer.from([0, 1]), padding, Buffer.from([0]), digest]);
}

/** An RS256 token forged for an RSA key whose published exponent is 1. */
export function forgeForExponentOne(
  jwk: Record<string, unknown>,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const input = `${b64url({ alg: "RS256", typ: "JWT", kid: jwk.kid, ...header })}.${b64url(payload)}`;
  return `${input}.${exponentOneSignature(jwk, input).toString("base64url")}`;
}

const ED25519_IDENTITY = Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]);

/** An Ed25519 public JWK whose point is the identity (order 1). */
export const smallOrderEd25519 = (kid: string) => ({
  kty: "OKP",
  crv: "Ed25519",
  x: ED25519_IDENTITY.toString("base64url"),
  kid,
  alg: "EdDSA",
  use: "sig",
});

/** An EdDSA signature for the identity key: R = identity, S = 0 verifies for any message. */
export const SMALL_ORDER_SIGNATURE = Buffer.concat([ED25519_IDENTITY, Buffer.alloc(32)]);

/** An EdDSA token forged for the identity key. */
export function forgeForSmallOrderEd25519(
  kid: string,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const input = `${b64url({ alg: "EdDSA", typ: "JWT", kid, ...header })}.${b64url(payload)}`;
  return `${input}.${SMALL_ORDER_SIGNATURE.toString("base64url")}`;
}

/** `jwk` (an EC public key) with one bit of `y` flipped: a point off the curve. */
export function offCurve(jwk: Record<string, unknown>, kid: string) {
  const y = Buffer.from(String(jwk.y), "base64url");
  y[y.length - 1] = (y[y.length - 1] ?? 0) ^ 1;
  return { ...jwk, kid, y: y.toString("base64url") };
}
