// HTTPS mode, as a client that trusts the issuer's certificate (and one that does not) sees it.
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { get } from "node:https";
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningIssuer, startIssuer } from "../src/index.js";
import { copyOfTestKeys } from "./support/keys-dir.js";

let keysDir: string;
let issuer: RunningIssuer;

beforeAll(async () => {
  keysDir = await copyOfTestKeys();
  issuer = await startIssuer({ port: 0, keysDir, https: true, quiet: true });
});

afterAll(async () => {
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

async function getJson(url: string, ca?: string): Promise<Record<string, unknown>> {
  const request = get(url, ca ? { ca } : {});
  const [response] = await once(request, "response");
  let text = "";
  for await (const chunk of response) text += chunk;
  return JSON.parse(text);
}

it("serves an https:// issuer whose tokens verify against its JWKS", async () => {
  expect(issuer.issuer).toBe(`https://127.0.0.1:${issuer.port}/`);
  const ca = issuer.certificate?.pem;
  const discovery = await getJson(`${issuer.issuer}.well-known/openid-configuration`, ca);
  expect(discovery.issuer).toBe(issuer.issuer);
  expect(discovery.token_endpoint).toBe(`${issuer.issuer}oauth/token`);

  const { access_token } = await issuer.requestToken({ clientId: "dev-reader" });
  const jwks = await getJson(String(discovery.jwks_uri), ca);
  const { payload } = await jwtVerify(access_token, createLocalJWKSet(jwks as never), {
    issuer: issuer.issuer,
    audience: "https://api.example.local",
  });
  expect(payload.sub).toBe("dev-reader@clients");
});

it("is refused by a client that does not trust its certificate", async () => {
  const request = get(`${issuer.issuer}.well-known/openid-configuration`);
  const error = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
    request.on("error", resolve);
    request.on("response", () => reject(new Error("the certificate was trusted")));
  });
  expect(error.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
});
