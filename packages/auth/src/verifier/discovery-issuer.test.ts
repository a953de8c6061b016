import { generateTestKey, JWKS_SERVER_PATHS } from "@repo/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { authErrorOf, reasonOf } from "../../test/support/expect-auth-error.js";
import {
  createVerifierFixture,
  type VerifierFixture,
} from "../../test/support/verifier-fixture.js";
import { KeysUnavailableError } from "../errors.js";
import type { AccessTokenVerifierOptions } from "./types.js";

const key = generateTestKey("key-1");
const ATTACKER = "https://attacker.example/";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

/** A fixture whose discovery document names `issuer` (and the real JWKS). */
async function lyingDiscovery(
  issuer: (fx: VerifierFixture) => string,
  options: Partial<AccessTokenVerifierOptions> = {},
) {
  const fx = await createVerifierFixture([key], { jwksCooldown: 60_000, ...options });
  cleanup.push(() => fx.close());
  fx.verifier.close();
  fx.server.setDiscoveryDocument({ issuer: issuer(fx), jwks_uri: fx.server.jwksUri });
  return fx;
}

describe("discovery metadata must name the configured issuer", () => {
  it("a document naming another issuer leaves the keys down: 503 with Retry-After for tokens of either issuer, health down, and a report", async () => {
    const fx = await lyingDiscovery(() => ATTACKER);
    const verifier = fx.build();
    expect(await verifier.warmUp()).toEqual({ state: "down", keys: 0, lastRefreshAt: null });
    for (const iss of [fx.server.issuer, ATTACKER]) {
      const error = await authErrorOf(verifier.verify(fx.token(key, { payload: { iss } })));
      expect(error).toBeInstanceOf(KeysUnavailableError);
      expect((error as KeysUnavailableError).retryAfter).toBeGreaterThanOrEqual(1);
    }
    expect(verifier.health().state).toBe("down");
    expect(fx.server.count(JWKS_SERVER_PATHS.jwks)).toBe(0);
    expect(fx.events).toContainEqual({
      type: "issuer_mismatch",
      url: `${fx.server.origin}${JWKS_SERVER_PATHS.discovery}`,
      expected: fx.server.issuer,
      found: ATTACKER,
    });
    expect(fx.events).toContainEqual(
      expect.objectContaining({
        type: "jwks_fetch_failed",
        resource: "discovery",
        reason: "issuer_mismatch",
      }),
    );
  });

  it("compares with the issuer option when one is given, and then requires it in tokens", async () => {
    const fx = await lyingDiscovery((f) => f.server.issuer, { issuer: ATTACKER });
    expect((await fx.build().warmUp()).state).toBe("down");
    expect(fx.events).toContainEqual(
      expect.objectContaining({ type: "issuer_mismatch", expected: ATTACKER }),
    );

    fx.server.setDiscoveryDocument({ issuer: ATTACKER, jwks_uri: fx.server.jwksUri });
    const verifier = fx.build({ issuer: ATTACKER });
    await expect(
      verifier.verify(fx.token(key, { payload: { iss: ATTACKER } })),
    ).resolves.toBeDefined();
    expect(await reasonOf(verifier.verify(fx.token(key)))).toBe("issuer");
  });

  it("still answers 503 on later attempts while the metadata keeps naming another issuer", async () => {
    const fx = await lyingDiscovery(() => ATTACKER);
    const verifier = fx.build();
    await verifier.warmUp();
    // No background retry: only the request below may run discovery again.
    verifier.close();
    fx.clock.advance(60_000);
    expect(await authErrorOf(verifier.verify(fx.token(key)))).toBeInstanceOf(KeysUnavailableError);
    expect(fx.events.filter((event) => event.type === "issuer_mismatch")).toHaveLength(2);
  });

  it("tolerates one trailing slash of difference, and then requires the metadata's spelling in tokens", async () => {
    const withoutSlash = (fx: VerifierFixture) => fx.server.issuer.replace(/\/$/, "");
    const fx = await lyingDiscovery(withoutSlash);
    const verifier = fx.build();
    const iss = withoutSlash(fx);
    await expect(verifier.verify(fx.token(key, { payload: { iss } }))).resolves.toMatchObject({
      iss,
    });
    expect(await reasonOf(verifier.verify(fx.token(key)))).toBe("issuer");

    const explicit = fx.build({ issuer: fx.server.issuer });
    await expect(explicit.verify(fx.token(key, { payload: { iss } }))).resolves.toBeDefined();
    expect(fx.events.some((event) => event.type === "issuer_mismatch")).toBe(false);
  });

  it("tolerates the slash the other way round, on an issuer with a path (RFC 8414 location)", async () => {
    const fx = await lyingDiscovery((f) => `${f.server.origin}/tenant`);
    const verifier = fx.build({ issuerBaseURL: `${fx.server.origin}/tenant/` });
    const iss = `${fx.server.origin}/tenant`;
    await expect(verifier.verify(fx.token(key, { payload: { iss } }))).resolves.toBeDefined();
    expect(fx.server.count("/.well-known/oauth-authorization-server/tenant")).toBe(1);
  });

  it.each([
    ["another scheme", (origin: string) => origin.replace("http:", "https:")],
    ["another port", (origin: string) => origin.replace(/:\d+$/, ":1")],
    ["an upper-case scheme", (origin: string) => origin.replace("http:", "HTTP:")],
    ["another path", (origin: string) => `${origin}/other/`],
    ["a path prefix of the configured one", (origin: string) => `${origin}/ten`],
    ["a query", (origin: string) => `${origin}/?x=1`],
    ["two more slashes", (origin: string) => `${origin}///`],
  ])("refuses metadata naming the issuer with %s", async (_, spelling) => {
    const fx = await lyingDiscovery((f) => spelling(f.server.origin));
    expect((await fx.build().warmUp()).state).toBe("down");
    expect(fx.events).toContainEqual(expect.objectContaining({ type: "issuer_mismatch" }));
  });

  it("reports a huge metadata issuer shortened", async () => {
    const fx = await lyingDiscovery(() => `https://${"a".repeat(100_000)}.example/`);
    await fx.build().warmUp();
    const event = fx.events.find((each) => each.type === "issuer_mismatch");
    expect(event).toMatchObject({ found: expect.any(String) });
    expect((event as { found: string }).found.length).toBeLessThanOrEqual(200);
  });
});
