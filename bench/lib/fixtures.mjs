import { createPublicKey, generateKeyPairSync, randomUUID, sign } from "node:crypto";

/** Issuer and audience of every benchmark token (an Auth0-style tenant URL and the dev API identifier). */
export const ISSUER = "https://issuer.bench.local/";
export const AUDIENCE = "https://api.example.local";
export const CLIENT_ID = "bench-client";
export const SCOPE = "read:items write:items";

const base64url = (value) => Buffer.from(value).toString("base64url");

/** An RS256 signing key with its public JWK, PEM and KeyObject, as a provider would publish it. */
export function createSigningKey(kid = `bench-${randomUUID()}`) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  return {
    kid,
    privateKey,
    publicKey,
    jwk,
    publicPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}

/** Rebuilds a signing key from the serialisable form `exportSigningKey` produced (for child processes). */
export function importSigningKey({ kid, privatePem, jwk }) {
  const publicKey = createPublicKey({ key: jwk, format: "jwk" });
  return {
    kid,
    privateKey: privatePem,
    publicKey,
    jwk,
    publicPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}

export function exportSigningKey(key) {
  return {
    kid: key.kid,
    jwk: key.jwk,
    privatePem: key.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  };
}

/** Signs a compact JWS with RS256; the header's `kid` can be overridden to forge unknown-kid tokens. */
export function signJwt(key, payload, header = {}) {
  const input = `${base64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: key.kid, ...header }))}.${base64url(JSON.stringify(payload))}`;
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
