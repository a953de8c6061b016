import { once } from "node:events";
import {
  b64url,
  generateTestKey,
  JWKS_SERVER_PATHS,
  type JwksServer,
  startJwksServer,
} from "@repo/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { authErrorOf, reasonOf } from "../../test/support/expect-auth-error.js";
import {
  createVerifierFixture,
  type VerifierFixture,
} from "../../test/support/verifier-fixture.js";
import { InvalidTokenError, KeysUnavailableError } from "../errors.js";
import { createAccessTokenVerifier } from "./create-access-token-verifier.js";
import type { VerifierEvent } from "./types.js";

const { jwks: JWKS, discovery: DISCOVERY } = JWKS_SERVER_PATHS;
const key1 = generateTestKey("key-1");
const key2 = generateTestKey("key-2");

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});

async function fixture(
  ...args: Parameters<typeof createVerifierFixture>
): Promise<VerifierFixture> {
  const fx = await createVerifierFixture(...args);
  cleanup.push(() => fx.close());
  return fx;
}

async function server(keys: object[] = []): Promise<JwksServer> {
  const started = await startJwksServer(keys);
  cleanup.push(() => started.close());
  return started;
}

/** Resolves with the first event matching `predicate` (already seen or still to come). */
function nextEvent(
  fx: VerifierFixture,
  predicate: (event: VerifierEvent) => boolean,
  from = fx.events.length,
) {
  return new Promise<VerifierEvent>((resolve) => {
    const poll = (): void => {
      const found = fx.events.slice(from).find(predicate);
      if (found) resolve(found);
      else setImmediate(poll);
    };
    poll();
  });
}

const failed = (
  event: VerifierEvent,
): event is Extract<VerifierEvent, { type: "jwks_fetch_failed" }> =>
  event.type === "jwks_fetch_failed" && event.resource === "jwks";
const MINUTE = 60_000;

describe("loading keys", () => {
  it("discovers the JWKS, and one fetch serves a cold-start burst of 100 requests", async () => {
    const fx = await fixture([key1]);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => fx.verifier.verify(fx.token(key1))),
    );
    expect(results).toHaveLength(100);
    expect(fx.server.count(DISCOVERY)).toBe(1);
    expect(fx.server.count(JWKS)).toBe(1);
    expect(fx.verifier.health()).toEqual({
      state: "fresh",
      keys: 1,
      lastRefreshAt: fx.clock.now(),
    });
  });

  it("skips discovery when issuer and jwksUri are given", async () => {
    const fx = await fixture([key1]);
    const verifier = fx.build({
      issuerBaseURL: undefined,
      issuer: fx.server.issuer,
      jwksUri: fx.server.jwksUri,
    });
    await verifier.verify(fx.token(key1));
    expect(fx.server.count(DISCOVERY)).toBe(0);
  });

  it("falls back to RFC 8414 metadata when OpenID discovery answers 404", async () => {
    const fx = await fixture([key1]);
    fx.server.setDiscoveryBehaviour({ kind: "status", status: 404 });
    const oauthMetadata = await server([key1.publicJwk]);
    oauthMetadata.setDiscoveryDocument({ issuer: fx.server.issuer, jwks_uri: fx.server.jwksUri });
    const verifier = fx.build({ issuerBaseURL: oauthMetadata.issuer, issuer: fx.server.issuer });
    await verifier.verify(fx.token(key1));
    expect(oauthMetadata.count("/.well-known/oauth-authorization-server")).toBe(0);
    expect(oauthMetadata.count(DISCOVERY)).toBe(1);

    const fallback = await server([key1.publicJwk]);
    fallback.setDiscoveryDocument({ issuer: fx.server.issuer, jwks_uri: fx.server.jwksUri });
    const only8414 = fx.build({ issuerBaseURL: `${fx.server.origin}/` });
    expect((await authErrorOf(only8414.verify(fx.token(key1)))).code).toBe(
      "ERR_AUTH_KEYS_UNAVAILABLE",
    );
    expect(fx.server.count("/.well-known/oauth-authorization-server")).toBe(1);
  });

  it("expects the issuer the metadata names once it matches the configured one", async () => {
    const fx = await fixture([key1]);
    fx.server.setDiscoveryDocument({
      issuer: "https://tenant.example/",
      jwks_uri: fx.server.jwksUri,
    });
    const explicit = fx.build({ issuer: "https://tenant.example/" });
    expect(await reasonOf(explicit.verify(fx.token(key1)))).toBe("issuer");
    await expect(
      explicit.verify(fx.token(key1, { payload: { iss: "https://tenant.example/" } })),
    ).resolves.toBeDefined();
  });

  it("refuses discovery metadata pointing at plain http elsewhere than loopback", async () => {
    const fx = await fixture([key1]);
    fx.server.setDiscoveryDocument({
      issuer: fx.server.issuer,
      jwks_uri: "http://keys.example.com/jwks",
    });
    const error = await authErrorOf(fx.verifier.verify(fx.token(key1)));
    expect(error).toBeInstanceOf(KeysUnavailableError);
    expect(fx.events).toContainEqual(
      expect.objectContaining({ resource: "discovery", reason: "invalid_document" }),
    );
  });

  it("requires https except for loopback, unless told otherwise", () => {
    const base = { audience: "a", issuer: "https://i.example/" };
    const build = (jwksUri: string, allowInsecureHttp?: boolean | "loopback") =>
      createAccessTokenVerifier({ ...base, jwksUri, allowInsecureHttp });
    expect(() => build("http://keys.example.com/jwks")).toThrow(TypeError);
    expect(() => build("ftp://keys.example.com/jwks")).toThrow(TypeError);
    expect(() => build("http://127.0.0.1:1/jwks", false)).toThrow(TypeError);
    for (const uri of [
      "http://127.0.0.1:1/jwks",
      "http://localhost:1/jwks",
      "http://[::1]:1/jwks",
    ]) {
      expect(() => build(uri).close()).not.toThrow();
    }
    expect(() => build("http://keys.example.com/jwks", true).close()).not.toThrow();
    expect(() => build("https://keys.example.com/jwks", false).close()).not.toThrow();
  });

  it("rejects incomplete or inconsistent options up front", () => {
    const jwks = { issuer: "https://i.example/", jwksUri: "https://i.example/jwks" };
    expect(() => createAccessTokenVerifier({ audience: "a" } as never)).toThrow(TypeError);
    expect(() => createAccessTokenVerifier({ ...jwks, audience: [] })).toThrow(TypeError);
    expect(() => createAccessTokenVerifier({ ...jwks, audience: "a", algorithms: [] })).toThrow(
      TypeError,
    );
    expect(() => createAccessTokenVerifier({ ...jwks, audience: "a", timeout: -1 })).toThrow(
      TypeError,
    );
    expect(() =>
      createAccessTokenVerifier({ ...jwks, audience: "a", tokenCacheSize: 1.5 }),
    ).toThrow(TypeError);
    expect(() => createAccessTokenVerifier({ issuerBaseURL: "not a url", audience: "a" })).toThrow(
      TypeError,
    );
  });

  it("imports each key once and reuses it across refreshes", async () => {
    const fx = await fixture([key1]);
    await fx.verifier.verify(fx.token(key1));
    fx.clock.advance(11 * MINUTE);
    fx.server.setKeys([key1.publicJwk, key2.publicJwk]);
    fx.verifier.health();
    await fx.verifier.verify(fx.token(key2));
    expect(fx.server.count(JWKS)).toBe(2);
    await expect(fx.verifier.verify(fx.token(key1))).resolves.toBeDefined();
  });

  it("skips keys whose kty, crv or alg names an Object.prototype member, and uses the rest", async () => {
    const fx = await fixture([key1]);
    const hostile = ["constructor", "toString", "__proto__", "valueOf", "hasOwnProperty"].flatMap(
      (name) => [
        { ...key2.publicJwk, kid: `kty-${name}`, kty: name },
        { ...key2.publicJwk, kid: `alg-${name}`, alg: name },
        { kty: "EC", kid: `crv-${name}`, crv: name, x: "AA", y: "AA" },
      ],
    );
    fx.server.setKeys([...hostile, key1.publicJwk]);
    await expect(fx.verifier.verify(fx.token(key1))).resolves.toBeDefined();
    expect(fx.verifier.health()).toMatchObject({ state: "fresh", keys: 1 });
  });
});

describe("JWKS outages", () => {
  it("down at start: 503 with Retry-After, no hammering within the cooldown, then recovery", async () => {
    const fx = await fixture([key1]);
    fx.server.setBehaviour({ kind: "status", status: 500 });
    expect(await fx.verifier.warmUp()).toEqual({ state: "down", keys: 0, lastRefreshAt: null });
    const error = await authErrorOf(fx.verifier.verify(fx.token(key1)));
    expect(error).toBeInstanceOf(KeysUnavailableError);
    expect(error.status).toBe(503);
    expect((error as KeysUnavailableError).retryAfter).toBe(30);
    expect(error.cause).toMatchObject({ reason: "status", status: 500 });
    expect(fx.server.count(JWKS)).toBe(1);

    fx.clock.advance(10_000);
    const again = await authErrorOf(fx.verifier.verify(fx.token(key1)));
    expect((again as KeysUnavailableError).retryAfter).toBe(20);
    expect(fx.server.count(JWKS)).toBe(1);

    fx.server.setBehaviour({ kind: "ok" });
    fx.clock.advance(20_000);
    await expect(fx.verifier.verify(fx.token(key1))).resolves.toBeDefined();
    expect(fx.server.count(JWKS)).toBe(2);
    expect(fx.verifier.health().state).toBe("fresh");
  });

  it("down after warm-up: stale keys keep working up to the staleness bound, then 503, never 401", async () => {
    const fx = await fixture([key1], {
      jwksCacheMaxAge: 10 * MINUTE,
      jwksMaxStaleness: 60 * MINUTE,
    });
    await fx.verifier.warmUp();
    const warmedAt = fx.clock.now();
    fx.server.setBehaviour({ kind: "status", status: 503 });

    fx.clock.advance(10 * MINUTE);
    const seen = fx.events.length;
    await expect(fx.verifier.verify(fx.token(key1))).resolves.toBeDefined();
    await nextEvent(fx, failed, seen);
    expect(fx.verifier.health()).toEqual({ state: "stale", keys: 1, lastRefreshAt: warmedAt });

    fx.clock.advance(59 * MINUTE);
    await expect(fx.verifier.verify(fx.token(key1))).resolves.toBeDefined();

    fx.clock.advance(MINUTE);
    const error = await authErrorOf(fx.verifier.verify(fx.token(key1)));
    expect(error).toBeInstanceOf(KeysUnavailableError);
    expect(fx.verifier.health()).toEqual({ state: "down", keys: 0, lastRefreshAt: warmedAt });
    expect(fx.events).toContainEqual({
      type: "keys_state_changed",
      state: "down",
      previous: "stale",
    });

    fx.server.setBehaviour({ kind: "ok" });
    fx.clock.advance(MINUTE);
    await expect(fx.verifier.verify(fx.token(key1))).resolves.toBeDefined();
    expect(fx.verifier.health().state).toBe("fresh");
  });

  it.each([
    ["hangs before answering", { kind: "hang" } as const, "timeout"],
    ["hangs in the middle of the body", { kind: "hang-body" } as const, "timeout"],
    [
      "answers HTML",
      { kind: "body", body: "<html>oops</html>", contentType: "text/html" } as const,
      "invalid_json",
    ],
    ["answers {}", { kind: "body", body: "{}" } as const, "invalid_document"],
    ['answers {"keys":null}', { kind: "body", body: '{"keys":null}' } as const, "invalid_document"],
    [
      "answers an empty key list",
      { kind: "body", body: '{"keys":[]}' } as const,
      "invalid_document",
    ],
    ["answers an array", { kind: "body", body: "[]" } as const, "invalid_document"],
    [
      "publishes a symmetric key",
      {
        kind: "body",
        body: JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0", kid: "key-1" }] }),
      } as const,
      "invalid_document",
    ],
    [
      "publishes a private key",
      {
        kind: "body",
        body: JSON.stringify({ keys: [key1.privateKey.export({ format: "jwk" })] }),
      } as const,
      "invalid_document",
    ],
    [
      "publishes only encryption keys",
      {
        kind: "body",
        body: JSON.stringify({ keys: [{ ...key1.publicJwk, use: "enc" }] }),
      } as const,
      "invalid_document",
    ],
    [
      "publishes only keys without verify",
      {
        kind: "body",
        body: JSON.stringify({ keys: [{ ...key1.publicJwk, key_ops: ["encrypt"] }] }),
      } as const,
      "invalid_document",
    ],
    [
      "sends 2 MiB with a Content-Length",
      { kind: "huge", bytes: 2 * 1024 * 1024, declareLength: true } as const,
      "too_large",
    ],
    [
      "streams 2 MiB without a Content-Length",
      { kind: "huge", bytes: 2 * 1024 * 1024, declareLength: false } as const,
      "too_large",
    ],
    ["redirects", { kind: "redirect", location: "http://127.0.0.1:9/jwks" } as const, "redirect"],
    ["answers 404", { kind: "status", status: 404 } as const, "status"],
    ["resets the connection", { kind: "reset" } as const, "network"],
  ])(
    "when the JWKS endpoint %s: 503 at start, last good keys kept after warm-up",
    async (_, behaviour, reason) => {
      // Short timeouts only where the endpoint hangs; elsewhere a loaded machine must not matter.
      const timeout = behaviour.kind === "hang" || behaviour.kind === "hang-body" ? 300 : 5_000;
      const fx = await fixture([key1], { timeout });
      fx.server.setBehaviour(behaviour);
      const cold = await authErrorOf(fx.verifier.verify(fx.token(key1)));
      expect(cold).toBeInstanceOf(KeysUnavailableError);
      expect(fx.events.find(failed)).toMatchObject({ reason, resource: "jwks", trigger: "cold" });
      // Its background retries would report into the same event list.
      fx.verifier.close();

      const warm = fx.build({ timeout, issuer: fx.server.issuer, jwksUri: fx.server.jwksUri });
      fx.server.setBehaviour({ kind: "ok" });
      expect((await warm.warmUp()).state).toBe("fresh");
      fx.server.setBehaviour(behaviour);
      fx.clock.advance(11 * MINUTE);
      const seen = fx.events.length;
      await expect(warm.verify(fx.token(key1))).resolves.toBeDefined();
      const refreshFailed = (event: VerifierEvent) => failed(event) && event.trigger === "refresh";
      expect(await nextEvent(fx, refreshFailed, seen)).toMatchObject({ reason });
      await expect(warm.verify(fx.token(key1))).resolves.toBeDefined();
      expect(warm.health()).toMatchObject({ state: "stale", keys: 1 });
    },
  );

  it("waits for a slow endpoint that answers within the timeout", async () => {
    const fx = await fixture([key1], { timeout: 2_000 });
    fx.server.setBehaviour({ kind: "delay", ms: 100 });
    await expect(fx.verifier.verify(fx.token(key1))).resolves.toBeDefined();
    expect(fx.verifier.health().state).toBe("fresh");
  });

  it("reports fresh, stale and down as the clock moves, with an event per change", async () => {
    const fx = await fixture([key1], { jwksCacheMaxAge: MINUTE, jwksMaxStaleness: MINUTE });
    await fx.verifier.warmUp();
    fx.server.setBehaviour({ kind: "status", status: 500 });
    expect(fx.verifier.health().state).toBe("fresh");
    fx.clock.advance(MINUTE);
    expect(fx.verifier.health().state).toBe("stale");
    fx.clock.advance(MINUTE);
    expect(fx.verifier.health()).toMatchObject({ state: "down", keys: 0 });
    const changes = fx.events.filter((event) => event.type === "keys_state_changed");
    expect(changes).toEqual([
      { type: "keys_state_changed", state: "fresh", previous: "down" },
      { type: "keys_state_changed", state: "stale", previous: "fresh" },
      { type: "keys_state_changed", state: "down", previous: "stale" },
    ]);
  });

  it("never follows a redirect", async () => {
    const fx = await fixture([key1]);
    const elsewhere = await server([key1.publicJwk]);
    fx.server.setBehaviour({ kind: "redirect", location: elsewhere.jwksUri });
    expect(await authErrorOf(fx.verifier.verify(fx.token(key1)))).toBeInstanceOf(
      KeysUnavailableError,
    );
    expect(elsewhere.total()).toBe(0);
  });

  it("warmUp resolves with the health instead of rejecting when the issuer is down", async () => {
    const fx = await fixture([key1]);
    fx.server.setDiscoveryBehaviour({ kind: "status", status: 500 });
    await expect(fx.verifier.warmUp()).resolves.toEqual({
      state: "down",
      keys: 0,
      lastRefreshAt: null,
    });
    expect(fx.events).toContainEqual(
      expect.objectContaining({
        type: "jwks_fetch_failed",
        resource: "discovery",
        reason: "status",
        status: 500,
      }),
    );
  });

  it("retries in the background while down, and recovers without a request", async () => {
    const fx = await fixture([key1], { jwksCooldown: 50 });
    fx.server.setBehaviour({ kind: "status", status: 500 });
    await fx.verifier.warmUp();
    fx.server.setBehaviour({ kind: "ok" });
    await nextEvent(
      fx,
      (event) => event.type === "jwks_fetch_succeeded" && event.trigger === "retry",
    );
    expect(fx.verifier.health().state).toBe("fresh");
  });

  it("refreshes in the background before the keys age out", async () => {
    const fx = await fixture([key1], { jwksCacheMaxAge: 100 });
    await fx.verifier.warmUp();
    fx.server.setKeys([key2.publicJwk]);
    await nextEvent(
      fx,
      (event) => event.type === "jwks_fetch_succeeded" && event.trigger === "refresh",
      0,
    );
    expect(fx.server.count(JWKS)).toBeGreaterThanOrEqual(2);
    await expect(fx.verifier.verify(fx.token(key2))).resolves.toBeDefined();
  });

  it("stops refreshing after close", async () => {
    const fx = await fixture([key1], { jwksCacheMaxAge: 50 });
    await fx.verifier.warmUp();
    fx.verifier.close();
    const probeEvents: VerifierEvent[] = [];
    const probe = fx.build({ jwksCacheMaxAge: 50, onEvent: (event) => probeEvents.push(event) });
    await probe.warmUp();
    // Three background refreshes of an identical verifier show that the closed one had its chances.
    await new Promise<void>((resolve) => {
      const poll = (): void => {
        const refreshes = probeEvents.filter(
          (event) => event.type === "jwks_fetch_succeeded" && event.trigger === "refresh",
        );
        if (refreshes.length >= 3) resolve();
        else setTimeout(poll, 10);
      };
      poll();
    });
    expect(
      fx.events.filter(
        (event) => event.type === "jwks_fetch_succeeded" && event.trigger === "refresh",
      ),
    ).toEqual([]);
    await expect(fx.verifier.verify(fx.token(key1))).resolves.toBeDefined();
  });

  it("keeps no timer that holds the process open", async () => {
    const { spawn } = await import("node:child_process");
    const jwksServer = await server([key1.publicJwk]);
    const script = `
      const { createAccessTokenVerifier } = await import(${JSON.stringify(new URL("./create-access-token-verifier.ts", import.meta.url).href)});
      const v = createAccessTokenVerifier({ issuer: "x", jwksUri: process.argv[1], audience: "a" });
      console.log(JSON.stringify(await v.warmUp()));
    `;
    const child = spawn(process.execPath, [
      "--import",
      "tsx",
      "--conditions=@repo/source",
      "--input-type=module",
      "-e",
      script,
      jwksServer.jwksUri,
    ]);
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ state: "fresh", keys: 1 });
  });
});

describe("rotation and unknown kids", () => {
  it("fetches again for a new kid, and a removed key stops verifying after the next refresh", async () => {
    const fx = await fixture([key1]);
    await fx.verifier.warmUp();
    fx.clock.advance(31_000);
    fx.server.setKeys([key1.publicJwk, key2.publicJwk]);
    await expect(fx.verifier.verify(fx.token(key2))).resolves.toBeDefined();
    expect(fx.server.count(JWKS)).toBe(2);

    fx.server.setKeys([key2.publicJwk]);
    fx.clock.advance(11 * MINUTE);
    fx.verifier.health();
    await expect(fx.verifier.verify(fx.token(key1))).resolves.toBeDefined();
    await nextEvent(
      fx,
      (event) => event.type === "jwks_fetch_succeeded" && event.trigger === "refresh",
      0,
    );
    expect(await reasonOf(fx.verifier.verify(fx.token(key1)))).toBe("unknown_key");
  });

  it("a flood of random kids causes at most one fetch per cooldown, and all are 401", async () => {
    const fx = await fixture([key1]);
    await fx.verifier.warmUp();
    fx.clock.advance(30_000);
    // Only the header changes: with an unknown kid the signature is never looked at.
    const [, payload, signature] = fx.token(key1).split(".");
    const forged = Array.from(
      { length: 1000 },
      (_, i) => `${b64url({ alg: "RS256", kid: `random-${i}` })}.${payload}.${signature}`,
    );
    const errors = await Promise.all(forged.map((token) => authErrorOf(fx.verifier.verify(token))));
    expect(
      errors.every((error) => error instanceof InvalidTokenError && error.reason === "unknown_key"),
    ).toBe(true);
    expect(fx.server.count(JWKS)).toBe(2);

    fx.clock.advance(29_000);
    await Promise.all(forged.slice(0, 100).map((token) => authErrorOf(fx.verifier.verify(token))));
    expect(fx.server.count(JWKS)).toBe(2);

    fx.clock.advance(1_000);
    await Promise.all(forged.slice(0, 100).map((token) => authErrorOf(fx.verifier.verify(token))));
    expect(fx.server.count(JWKS)).toBe(3);
  });

  it("an unknown kid right after a fetch waits for the cooldown", async () => {
    const fx = await fixture([key1]);
    await fx.verifier.warmUp();
    fx.server.setKeys([key1.publicJwk, key2.publicJwk]);
    expect(await reasonOf(fx.verifier.verify(fx.token(key2)))).toBe("unknown_key");
    expect(fx.server.count(JWKS)).toBe(1);
    fx.clock.advance(30_000);
    await expect(fx.verifier.verify(fx.token(key2))).resolves.toBeDefined();
  });
});

describe("events", () => {
  it("reports fetches and rejections without the token, and survives a throwing observer", async () => {
    const fx = await fixture([key1]);
    const throwing = fx.build({
      onEvent: () => {
        throw new Error("observer bug");
      },
    });
    const token = fx.token(key1);
    await expect(throwing.verify(token)).resolves.toBeDefined();

    await fx.verifier.verify(token);
    await fx.verifier.verify(token);
    await authErrorOf(fx.verifier.verify(`${token}.x`));
    expect(fx.events).toContainEqual(
      expect.objectContaining({ type: "jwks_fetch_succeeded", resource: "jwks", keys: 1 }),
    );
    expect(fx.events).toContainEqual({ type: "token_verified", cached: false });
    expect(fx.events).toContainEqual({ type: "token_verified", cached: true });
    expect(fx.events).toContainEqual({
      type: "token_rejected",
      code: "ERR_AUTH_INVALID_TOKEN",
      reason: "malformed",
    });
    expect(JSON.stringify(fx.events)).not.toContain(token.split(".")[2]);
  });
});
