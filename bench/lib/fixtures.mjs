import { generateKeyPairSync, randomUUID, sign } from "node:crypto";

/** Issuer and audience of every benchmark token (an Auth0-style tenant URL and the dev API identifier). */
export const ISSUER = "https://issuer.bench.local/";
export const AUDIENCE = "https://api.example.local";
export const CLIENT_ID = "bench-client";
const SCOPE = "read:items write:items";

const base64url = (value) => Buffer.from(value).toString("base64url");

/** A 2048-bit RS256 signing key with its public JWK (as a provider publishes it) and PEM. */
export function createSigningKey() {
  const kid = `bench-${randomUUID()}`;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  return {
    kid,
    privateKey,
    jwk,
    publicPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}

/** Signs a compact JWS with RS256 under the key's `kid`. */
export function signJwt(key, payload) {
  const header = { alg: "RS256", typ: "JWT", kid: key.kid };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign("RSA-SHA256", Buffer.from(input), key.privateKey).toString("base64url");
  return `${input}.${signature}`;
}

/** Claims of an Auth0 client-credentials access token, valid for an hour. */
export function accessTokenClaims(i = 0, nowSeconds = Math.floor(Date.now() / 1000)) {
  return {
    iss: ISSUER,
    sub: `${CLIENT_ID}@clients`,
    aud: AUDIENCE,
    iat: nowSeconds,
    exp: nowSeconds + 3600,
    scope: SCOPE,
    gty: "client-credentials",
    azp: CLIENT_ID,
    jti: `bench-${i}-${randomUUID()}`,
  };
}

/** `count` distinct valid tokens (distinct `jti`), so that no verified-token cache can serve them. */
export function signTokens(key, count) {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) => signJwt(key, accessTokenClaims(i, nowSeconds)));
}
