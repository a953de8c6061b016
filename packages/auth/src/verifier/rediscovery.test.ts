import { b64url, generateTestKey, JWKS_SERVER_PATHS, type JwksBehaviour } from "@repo/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { authErrorOf, reasonOf } from "../../test/support/expect-auth-error.js";
import {
  createVerifierFixture,
  type VerifierFixture,
} from "../../test/support/verifier-fixture.js";
import { type InvalidTokenError, KeysUnavailableError } from "../errors.js";
import type { AccessTokenVerifierOptions } from "./types.js";

const { jwks: OLD_JWKS, discovery: DISCOVERY } = JWKS_SERVER_PATHS;
const NEW_JWKS = "/keys/v2/jwks.json";
const oldKey = generateTestKey("old-key");
const newKey = generateTestKey("new-key");
const newerKey = generateTestKey("newer-key");
const MINUTE = 60_000;
const COOLDOWN = 30_000;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function fixture(options: Partial<AccessTokenVerifierOptions> = {}) {
  const fx = await createVerifierFixture([oldKey], options);
  cleanup.push(() => fx.close());
  return fx;
}

/** A warmed-up verifier using discovery, with `oldKey` published at the original JWKS URL. */
async function warmFixture(options: Partial<AccessTokenVerifierOptions> = {}) {
  const fx = await fixture(options);
  await fx.verifier.warmUp();
  return fx;
}

/**
 * The provider moves its keys: `newKey` is published at another path, the metadata names it, and
 * the old URL answers as `oldAnswer` says. Returns the new JWKS URL.
 */
function moveKeys(
  fx: VerifierFixture,
  oldAnswer: JwksBehaviour = { kind: "status", status: 404 },
  issuer = fx.server.issuer,
): string {
  const jwksUri = fx.server.serveJwksAt(NEW_JWKS, [newKey.publicJwk]);
  fx.server.setDiscoveryDocument({ issuer, jwks_uri: jwksUri });
  fx.server.setBehaviour(oldAnswer);
  return jwksUri;
}

const requests = (fx: VerifierFixture) => ({
  discovery: fx.server.count(DISCOVERY),
  oldJwks: fx.server.count(OLD_JWKS),
  newJwks: fx.server.count(NEW_JWKS),
});

describe("re-discovery when the provider moves its JWKS", () => {
  it.each([
    ["answers 404", { kind: "status", status: 404 }],
    ["answers 410", { kind: "status", status: 410 }],
    ["answers 403", { kind: "status", status: 403 }],
    ["redirects", { kind: "redirect", location: "http://127.0.0.1:9/jwks.json" }],
    [
      "answers an HTML page",
      { kind: "body", body: "<html>moved</html>", contentType: "text/html" },
    ],
    ["answers a document without keys", { kind: "body", body: "{}" }],
  ] satisfies [string, JwksBehaviour][])(
    "when the old URL %s, keys at the URL named by new metadata verify after one re-discovery",
    async (_, oldAnswer) => {
      const fx = await warmFixture();
      const newUri = moveKeys(fx, oldAnswer);
      fx.clock.advance(COOLDOWN);

      await expect(fx.verifier.verify(fx.token(newKey))).resolves.toBeDefined();
      expect(requests(fx)).toEqual({ discovery: 2, oldJwks: 2, newJwks: 1 });
      const seen = fx.events.filter((event) => event.type.startsWith("jwks_fetch_"));
      expect(seen.slice(2)).toEqual([
        expect.objectContaining({ type: "jwks_fetch_failed", resource: "jwks" }),
        expect.objectContaining({
          type: "jwks_fetch_succeeded",
          resource: "discovery",
          trigger: "unknown_kid",
        }),
        expect.objectContaining({ type: "jwks_fetch_succeeded", resource: "jwks", url: newUri }),
      ]);
      expect(await reasonOf(fx.verifier.verify(fx.token(oldKey)))).toBe("unknown_key");

      // Later fetches go to the new URL, without discovery.
      fx.clock.advance(COOLDOWN);
      fx.server.serveJwksAt(NEW_JWKS, [newKey.publicJwk, newerKey.publicJwk]);
      await expect(fx.verifier.verify(fx.token(newerKey))).resolves.toBeDefined();
      expect(requests(fx)).toEqual({ discovery: 2, oldJwks: 2, newJwks: 2 });
    },
  );

  it("an unknown-kid flood during the move costs one discovery and one request per JWKS URL per cooldown", async () => {
    const fx = await warmFixture();
    // Background retries run on real timers; without them every request counted here is on demand.
    fx.verifier.close();
    moveKeys(fx);
    fx.clock.advance(COOLDOWN);
    const [, payload, signature] = fx.token(newKey).split(".");
    const forged = Array.from(
      { length: 500 },
      (_, i) => `${b64url({ alg: "RS256", kid: `random-${i}` })}.${payload}.${signature}`,
    );
    const flood = async () => {
      const genuine = Array.from({ length: 20 }, () => fx.verifier.verify(fx.token(newKey)));
      const errors = await Promise.all(
        forged.map((token) => authErrorOf(fx.verifier.verify(token))),
      );
      expect(errors.every((error) => (error as InvalidTokenError).reason === "unknown_key")).toBe(
        true,
      );
      expect(await Promise.all(genuine)).toHaveLength(20);
    };

    await flood();
    expect(requests(fx)).toEqual({ discovery: 2, oldJwks: 2, newJwks: 1 });
    fx.clock.advance(COOLDOWN - 1_000);
    await flood();
    expect(requests(fx)).toEqual({ discovery: 2, oldJwks: 2, newJwks: 1 });
    fx.clock.advance(1_000);
    await flood();
    expect(requests(fx)).toEqual({ discovery: 2, oldJwks: 2, newJwks: 2 });
  });

  it("while the metadata still names the failing URL, a flood costs one discovery and one JWKS request per cooldown", async () => {
    const fx = await warmFixture();
    fx.verifier.close();
    fx.server.setBehaviour({ kind: "status", status: 404 });
    fx.clock.advance(COOLDOWN);
    const token = fx.token(newKey);

    const flood = () =>
      Promise.all(Array.from({ length: 200 }, () => reasonOf(fx.verifier.verify(token))));
    expect(new Set(await flood())).toEqual(new Set(["unknown_key"]));
    expect(requests(fx)).toMatchObject({ discovery: 2, oldJwks: 2 });
    fx.clock.advance(COOLDOWN - 1);
    await flood();
    expect(requests(fx)).toMatchObject({ discovery: 2, oldJwks: 2 });
    fx.clock.advance(1);
    await flood();
    expect(requests(fx)).toMatchObject({ discovery: 3, oldJwks: 3 });
  });

  it("a cold start against a failing JWKS URL runs discovery once, and background retries repeat it only once per cooldown", async () => {
    const fx = await fixture({ jwksCooldown: 50 });
    fx.server.setBehaviour({ kind: "status", status: 404 });
    expect((await fx.verifier.warmUp()).state).toBe("down");
    expect(requests(fx)).toMatchObject({ discovery: 1, oldJwks: 1 });
    // Retries run every 50 ms of real time while the fake clock stands still.
    await fx.server.waitForRequests(OLD_JWKS, 4);
    expect(fx.server.count(DISCOVERY)).toBe(1);
    fx.clock.advance(50);
    await fx.server.waitForRequests(DISCOVERY, 2);
  });

  it.each([500, 503, 429, 408])(
    "a %i from the JWKS URL is an outage, not a move: no discovery",
    async (status) => {
      const fx = await warmFixture();
      fx.verifier.close();
      moveKeys(fx, { kind: "status", status });
      fx.clock.advance(COOLDOWN);
      expect(await reasonOf(fx.verifier.verify(fx.token(newKey)))).toBe("unknown_key");
      expect(requests(fx)).toEqual({ discovery: 1, oldJwks: 2, newJwks: 0 });
    },
  );

  it("refuses metadata naming another issuer, and the old keys serve until the staleness bound", async () => {
    const fx = await warmFixture({
      jwksCacheMaxAge: 10 * MINUTE,
      jwksMaxStaleness: 60 * MINUTE,
      tokenCacheSize: false,
    });
    fx.verifier.close();
    const attacker = "https://attacker.example/";
    moveKeys(fx, { kind: "status", status: 404 }, attacker);
    fx.clock.advance(COOLDOWN);

    expect(await reasonOf(fx.verifier.verify(fx.token(newKey)))).toBe("unknown_key");
    const asAttacker = { payload: { iss: attacker } };
    expect(await reasonOf(fx.verifier.verify(fx.token(newKey, asAttacker)))).toBe("unknown_key");
    expect(fx.events).toContainEqual(
      expect.objectContaining({
        type: "jwks_fetch_failed",
        resource: "discovery",
        url: `${fx.server.origin}${DISCOVERY}`,
        reason: "issuer_mismatch",
        trigger: "unknown_kid",
      }),
    );
    expect(fx.server.count(NEW_JWKS)).toBe(0);
    await expect(fx.verifier.verify(fx.token(oldKey))).resolves.toMatchObject({
      iss: fx.server.issuer,
    });
    expect(await reasonOf(fx.verifier.verify(fx.token(oldKey, asAttacker)))).toBe("issuer");

    // Stale: each refresh asks discovery again (once per cooldown) and is refused again.
    fx.clock.advance(50 * MINUTE);
    await expect(fx.verifier.verify(fx.token(oldKey))).resolves.toBeDefined();
    expect((await fx.verifier.warmUp()).state).toBe("stale");
    const refusals = fx.events.filter(
      (event) => event.type === "jwks_fetch_failed" && event.reason === "issuer_mismatch",
    );
    expect(refusals).toHaveLength(2);

    fx.clock.advance(20 * MINUTE);
    expect(await authErrorOf(fx.verifier.verify(fx.token(oldKey)))).toBeInstanceOf(
      KeysUnavailableError,
    );
    expect(fx.server.count(NEW_JWKS)).toBe(0);
  });

  it("refuses re-discovered metadata that spells the issuer with the trailing slash the other way", async () => {
    const fx = await warmFixture();
    fx.verifier.close();
    const respelled = fx.server.issuer.replace(/\/$/, "");
    moveKeys(fx, { kind: "status", status: 404 }, respelled);
    fx.clock.advance(COOLDOWN);

    expect(await reasonOf(fx.verifier.verify(fx.token(newKey)))).toBe("unknown_key");
    expect(fx.events).toContainEqual(
      expect.objectContaining({ resource: "discovery", reason: "issuer_changed" }),
    );
    expect(fx.events).toContainEqual({
      type: "issuer_mismatch",
      url: `${fx.server.origin}${DISCOVERY}`,
      expected: fx.server.issuer,
      found: respelled,
    });
    expect(fx.server.count(NEW_JWKS)).toBe(0);
  });

  it("never runs discovery again for an explicit jwksUri, with or without an explicit issuer", async () => {
    const fx = await warmFixture();
    const explicit = fx.build({
      issuerBaseURL: undefined,
      issuer: fx.server.issuer,
      jwksUri: fx.server.jwksUri,
    });
    const issuerFromDiscovery = fx.build({ jwksUri: fx.server.jwksUri });
    await explicit.warmUp();
    await issuerFromDiscovery.warmUp();
    expect(fx.server.count(DISCOVERY)).toBe(2);
    moveKeys(fx);

    fx.clock.advance(COOLDOWN);
    for (const verifier of [explicit, issuerFromDiscovery]) {
      expect(await reasonOf(verifier.verify(fx.token(newKey)))).toBe("unknown_key");
    }
    fx.clock.advance(25 * 60 * MINUTE);
    for (const verifier of [explicit, issuerFromDiscovery]) {
      expect(await authErrorOf(verifier.verify(fx.token(oldKey)))).toBeInstanceOf(
        KeysUnavailableError,
      );
    }
    expect(fx.server.count(DISCOVERY)).toBe(2);
    expect(fx.server.count(NEW_JWKS)).toBe(0);

    // The same move under a verifier that discovered its jwks_uri is followed.
    await expect(fx.verifier.verify(fx.token(newKey))).resolves.toBeDefined();
    expect(fx.server.count(DISCOVERY)).toBe(3);
  });
});

describe("re-discovery when the metadata ages", () => {
  const options = {
    discoveryMaxAge: 60 * MINUTE,
    jwksCacheMaxAge: 10 * MINUTE,
    jwksMaxStaleness: 60 * MINUTE,
  };

  /** A request served from stale keys starts a background refresh; resolves once it is over. */
  async function refreshWhileStale(fx: VerifierFixture): Promise<string> {
    await expect(fx.verifier.verify(fx.token(oldKey))).resolves.toBeDefined();
    return (await fx.verifier.warmUp()).state;
  }

  it("a refresh after discoveryMaxAge runs discovery first and follows a new jwks_uri", async () => {
    const fx = await warmFixture(options);
    fx.verifier.close();
    const newUri = fx.server.serveJwksAt(NEW_JWKS, [newKey.publicJwk]);
    fx.server.setDiscoveryDocument({ issuer: fx.server.issuer, jwks_uri: newUri });

    // Younger metadata is trusted: the refresh fetches the old URL, which still works.
    fx.clock.advance(30 * MINUTE);
    expect(await refreshWhileStale(fx)).toBe("fresh");
    expect(requests(fx)).toEqual({ discovery: 1, oldJwks: 2, newJwks: 0 });

    fx.clock.advance(30 * MINUTE);
    expect(await refreshWhileStale(fx)).toBe("fresh");
    expect(requests(fx)).toEqual({ discovery: 2, oldJwks: 2, newJwks: 1 });
    const discovered = { type: "jwks_fetch_succeeded", resource: "discovery", trigger: "refresh" };
    expect(fx.events).toContainEqual(expect.objectContaining(discovered));
    await expect(fx.verifier.verify(fx.token(newKey))).resolves.toBeDefined();
    expect(await reasonOf(fx.verifier.verify(fx.token(oldKey)))).toBe("unknown_key");
  });

  it("a failed re-discovery is reported and the known JWKS URL keeps serving", async () => {
    const fx = await warmFixture(options);
    fx.verifier.close();
    fx.server.setDiscoveryBehaviour({ kind: "status", status: 503 });
    fx.clock.advance(61 * MINUTE);

    expect(await refreshWhileStale(fx)).toBe("fresh");
    expect(requests(fx)).toEqual({ discovery: 2, oldJwks: 2, newJwks: 0 });
    const failed = { type: "jwks_fetch_failed", resource: "discovery", trigger: "refresh" };
    expect(fx.events).toContainEqual(
      expect.objectContaining({ ...failed, reason: "status", status: 503 }),
    );
  });

  it("rejects a negative discoveryMaxAge at construction", async () => {
    const fx = await warmFixture();
    expect(() => fx.build({ discoveryMaxAge: -1 })).toThrow(TypeError);
  });
});
