import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningIssuer, startIssuer } from "@repo/issuer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reasonOf } from "../../test/support/expect-auth-error.js";
import { InsufficientScopeError } from "../errors.js";
import { createAccessTokenVerifier } from "./create-access-token-verifier.js";
import { grantedScopes, requireScopes } from "./scopes.js";
import type { AccessTokenVerifierOptions, VerifierEvent } from "./types.js";

const AUDIENCE = "https://api.example.local";
let issuer: RunningIssuer;
let keysDir: string;

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "verifier-dev-issuer-"));
  issuer = await startIssuer({ port: 0, quiet: true, keysDir });
});
afterAll(async () => {
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

const verifierFor = (options: Partial<AccessTokenVerifierOptions> = {}) =>
  createAccessTokenVerifier({ issuerBaseURL: issuer.issuer, audience: AUDIENCE, ...options });

describe("tokens of the development issuer", () => {
  it("verify through discovery, with the claims Auth0 M2M tokens carry", async () => {
    const verifier = verifierFor();
    const { access_token } = await issuer.requestToken({ clientId: "dev-writer" });
    const claims = await verifier.authenticate(`Bearer ${access_token}`);
    expect(claims.iss).toBe(issuer.issuer);
    expect(
      claims.aud === AUDIENCE || (Array.isArray(claims.aud) && claims.aud.includes(AUDIENCE)),
    ).toBe(true);
    expect(typeof claims.sub).toBe("string");
    expect(grantedScopes(claims).sort()).toEqual(["read:items", "write:items"]);
    expect(verifier.health()).toMatchObject({ state: "fresh" });
    verifier.close();
  });

  it("carry only the granted scopes", async () => {
    const verifier = verifierFor();
    const { access_token } = await issuer.requestToken({ clientId: "dev-reader" });
    const claims = await verifier.verify(access_token);
    expect(() => requireScopes(claims, ["read:items"])).not.toThrow();
    expect(() => requireScopes(claims, ["write:items"])).toThrow(InsufficientScopeError);
    verifier.close();
  });

  it("keep verifying across a key rotation, and a retired key stops verifying", async () => {
    let now = Date.now();
    const verifier = verifierFor({ now: () => now });
    const before = (await issuer.requestToken()).access_token;
    await verifier.verify(before);

    await issuer.rotateKeys();
    const after = (await issuer.requestToken()).access_token;
    now += 30_000;
    await expect(verifier.verify(after)).resolves.toBeDefined();
    await expect(verifier.verify(before)).resolves.toBeDefined();

    await issuer.retirePreviousKeys();
    now += 11 * 60_000;
    await verifier.warmUp();
    expect(await reasonOf(verifier.verify(before))).toBe("unknown_key");
    await expect(verifier.verify(after)).resolves.toBeDefined();
    verifier.close();
  });

  it("tell a holder of claims that their key was retired, and name it in a keys_retired event", async () => {
    let now = Date.now();
    const events: VerifierEvent[] = [];
    const verifier = verifierFor({ now: () => now, onEvent: (event) => events.push(event) });
    const old = (await issuer.requestToken()).access_token;
    const oldClaims = await verifier.verify(old);
    const oldKid = issuer.signingKid();
    expect(verifier.signingKeyRetired(oldClaims)).toBe(false);

    await issuer.rotateKeys();
    const fresh = await verifier.verify((await issuer.requestToken()).access_token);
    await issuer.retirePreviousKeys();
    now += 11 * 60_000;
    await verifier.warmUp();

    expect(verifier.signingKeyRetired(oldClaims)).toBe(true);
    expect(verifier.signingKeyRetired(fresh)).toBe(false);
    expect(verifier.signingKeyRetired({ ...fresh })).toBe(false);
    expect(events.filter((event) => event.type === "keys_retired")).toEqual([
      { type: "keys_retired", kids: [oldKid], count: 1 },
    ]);
    verifier.close();
  });

  it("are refused for another audience", async () => {
    const verifier = verifierFor({ audience: "https://other.example" });
    const { access_token } = await issuer.requestToken();
    expect(await reasonOf(verifier.verify(access_token))).toBe("audience");
    verifier.close();
  });
});
