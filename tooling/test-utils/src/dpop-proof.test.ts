import { createHash, randomUUID } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { checkProof, ProofError } from "./dpop-proof.js";

const URL_ = "http://127.0.0.1:4000/trpc/whoami";
const TOKEN = "an-access-token";
const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
const jwk = await exportJWK(publicKey);

async function proof(
  claims: Record<string, unknown> = {},
  header: { typ?: string; jwk?: JWK } = {},
): Promise<string> {
  return new SignJWT({
    htm: "GET",
    htu: URL_,
    ath: createHash("sha256").update(TOKEN).digest("base64url"),
    jti: randomUUID(),
    iat: Math.floor(Date.now() / 1000),
    ...claims,
  })
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk, ...header })
    .sign(privateKey);
}

const request = { method: "GET", url: `${URL_}?input=%7B%7D#f`, accessToken: TOKEN };

describe("checkProof", () => {
  it("accepts a proof for this request and gives its key's thumbprint and nonce", async () => {
    const checked = await checkProof(await proof({ nonce: "n1" }), request);
    expect(checked).toMatchObject({ jkt: await calculateJwkThumbprint(jwk), nonce: "n1" });
  });

  it.each([
    ["another method", { htm: "POST" }, {}],
    ["another URL", { htu: "http://127.0.0.1:4000/trpc/items.list" }, {}],
    ["another token", { ath: "x" }, {}],
    ["an old iat", { iat: Math.floor(Date.now() / 1000) - 600 }, {}],
    ["a short jti", { jti: "1" }, {}],
    ["another typ", {}, { typ: "JWT" }],
    ["a private key in its header", {}, { jwk: { ...jwk, d: "secret" } }],
  ])("refuses a proof with %s", async (_, claims, header) => {
    await expect(checkProof(await proof(claims, header), request)).rejects.toBeInstanceOf(
      ProofError,
    );
  });
});
