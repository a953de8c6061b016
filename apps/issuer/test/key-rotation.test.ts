// Rotation as a verifier sees it: the next key is published before it signs, tokens from the old
// key keep verifying until it is retired, and restarts keep the keys.
import { rm } from "node:fs/promises";
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { afterEach, beforeEach, expect, it } from "vitest";
import { type RunningIssuer, startIssuer } from "../src/index.js";
import { rotateKeySet } from "../src/signing-keys.js";
import { copyOfTestKeys } from "./support/keys-dir.js";

let keysDir: string;
const running: RunningIssuer[] = [];

beforeEach(async () => {
  keysDir = await copyOfTestKeys();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((issuer) => issuer.close()));
  await rm(keysDir, { recursive: true, force: true });
});

async function start(port = 0) {
  const issuer = await startIssuer({ port, keysDir, quiet: true });
  running.push(issuer);
  return issuer;
}

async function publishedKids(issuer: RunningIssuer): Promise<string[]> {
  const { keys } = (await (await fetch(issuer.jwksUri)).json()) as { keys: { kid: string }[] };
  return keys.map((key) => key.kid);
}

/** Verifies with a JWKS fetched now, as a verifier that just refreshed its cache would. */
function verifyFresh(issuer: RunningIssuer, token: string) {
  return jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
    issuer: issuer.issuer,
    audience: "https://api.example.local",
  });
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

it("keeps tokens of the old key verifying until the key is retired", async () => {
  const issuer = await start();
  const before = await publishedKids(issuer);
  const oldToken = (await issuer.requestToken()).access_token;
  const oldKid = kidOf(oldToken);
  expect(before[0]).toBe(oldKid);
  expect(before).toHaveLength(2);

  await issuer.rotateKeys();
  const newToken = (await issuer.requestToken()).access_token;
  const newKid = kidOf(newToken);
  expect(newKid).not.toBe(oldKid);
  // The new signing key was already published before the rotation.
  expect(before).toContain(newKid);
  const after = await publishedKids(issuer);
  expect(after[0]).toBe(newKid);
  expect(after).toContain(oldKid);
  await expect(verifyFresh(issuer, oldToken)).resolves.toBeDefined();
  await expect(verifyFresh(issuer, newToken)).resolves.toBeDefined();

  await issuer.retirePreviousKeys();
  expect(await publishedKids(issuer)).not.toContain(oldKid);
  await expect(verifyFresh(issuer, oldToken)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  await expect(verifyFresh(issuer, newToken)).resolves.toBeDefined();
});

it("picks up a rotation written by another process on the next request", async () => {
  const issuer = await start();
  const oldKid = kidOf((await issuer.requestToken()).access_token);
  // The keys folder changes behind the server's back, as `pnpm rotate-keys` does it.
  await rotateKeySet(keysDir, { graceSeconds: 60 });
  const newKid = kidOf((await issuer.requestToken()).access_token);
  expect(newKid).not.toBe(oldKid);
  expect(issuer.signingKid()).toBe(newKid);
  expect(await publishedKids(issuer)).toContain(oldKid);
});

it("keeps its keys across a restart on the same port", async () => {
  const first = await start();
  const token = (await first.requestToken()).access_token;
  const kids = await publishedKids(first);
  await first.close();

  const second = await start(first.port);
  expect(second.issuer).toBe(first.issuer);
  expect(await publishedKids(second)).toEqual(kids);
  await expect(verifyFresh(second, token)).resolves.toBeDefined();
  expect(kidOf((await second.requestToken()).access_token)).toBe(kidOf(token));
});
