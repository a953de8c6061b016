import { generateTestKey, JWKS_SERVER_PATHS } from "@repo/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { authErrorOf, reasonOf } from "../../test/support/expect-auth-error.js";
import {
  createVerifierFixture,
  type VerifierFixture,
} from "../../test/support/verifier-fixture.js";
import { KeysUnavailableError } from "../errors.js";
import { entryBytes, TokenCache } from "./token-cache.js";
import type { VerifierEvent } from "./types.js";

const key1 = generateTestKey("key-1");
const key2 = generateTestKey("key-2");
const MINUTE = 60_000;

let fx: VerifierFixture | undefined;
afterEach(() => fx?.close());

const isHit = (event: VerifierEvent) => event.type === "token_verified" && event.cached;
const hits = (f: VerifierFixture) => f.events.filter(isHit).length;

describe("verified-token cache", () => {
  it("serves a repeated token from the cache", async () => {
    fx = await createVerifierFixture([key1]);
    const token = fx.token(key1);
    const first = await fx.verifier.verify(token);
    const second = await fx.verifier.verify(token);
    expect(second).toBe(first);
    expect(hits(fx)).toBe(1);
  });

  it("checks exp and nbf again on every hit", async () => {
    fx = await createVerifierFixture([key1]);
    const token = fx.token(key1, { payload: { exp: fx.clock.seconds() + 60 } });
    await fx.verifier.verify(token);
    fx.clock.advance(64_000);
    await expect(fx.verifier.verify(token)).resolves.toBeDefined();
    fx.clock.advance(1_000);
    expect(await reasonOf(fx.verifier.verify(token))).toBe("expired");
    expect(hits(fx)).toBe(1);
  });

  it("checks maxTokenAge again on every hit", async () => {
    fx = await createVerifierFixture([key1], { maxTokenAge: 60, clockTolerance: 0 });
    const token = fx.token(key1, { payload: { iat: fx.clock.seconds() } });
    await fx.verifier.verify(token);
    fx.clock.advance(61_000);
    expect(await reasonOf(fx.verifier.verify(token))).toBe("too_old");
  });

  it("drops tokens verified by a key that left the JWKS", async () => {
    fx = await createVerifierFixture([key1, key2]);
    const token = fx.token(key1);
    await fx.verifier.verify(token);
    fx.server.setKeys([key2.publicJwk]);
    fx.clock.advance(11 * MINUTE);
    await fx.verifier.verify(fx.token(key2));
    await new Promise<void>((resolve) => {
      const poll = () =>
        fx?.events.some((e) => e.type === "jwks_fetch_succeeded" && e.trigger === "refresh")
          ? resolve()
          : setImmediate(poll);
      poll();
    });
    expect(await reasonOf(fx.verifier.verify(token))).toBe("unknown_key");
    expect(hits(fx)).toBe(0);
  });

  it("does not serve cached tokens once the keys are beyond their staleness bound", async () => {
    fx = await createVerifierFixture([key1], { jwksMaxStaleness: 5 * MINUTE });
    const token = fx.token(key1, { payload: { exp: fx.clock.seconds() + 3600 } });
    await fx.verifier.verify(token);
    fx.server.setBehaviour({ kind: "status", status: 500 });
    fx.clock.advance(15 * MINUTE + 1);
    expect(await authErrorOf(fx.verifier.verify(token))).toBeInstanceOf(KeysUnavailableError);
  });

  it("can be turned off", async () => {
    fx = await createVerifierFixture([key1], { tokenCacheSize: false });
    const token = fx.token(key1);
    await fx.verifier.verify(token);
    await fx.verifier.verify(token);
    expect(hits(fx)).toBe(0);
    expect(fx.server.count(JWKS_SERVER_PATHS.jwks)).toBe(1);
  });

  it("is bounded, evicting the least recently used token", async () => {
    fx = await createVerifierFixture([key1], { tokenCacheSize: 2 });
    const [a, b, c] = ["a", "b", "c"].map(
      (jti) => fx?.token(key1, { payload: { jti } }) as string,
    ) as [string, string, string];
    await fx.verifier.verify(a);
    await fx.verifier.verify(b);
    await fx.verifier.verify(a);
    await fx.verifier.verify(c);
    expect(hits(fx)).toBe(1);
    await fx.verifier.verify(a);
    expect(hits(fx)).toBe(2);
    await fx.verifier.verify(b);
    expect(hits(fx)).toBe(2);
  });

  it("is bounded by bytes too, evicting the least recently used token", async () => {
    fx = await createVerifierFixture([key1]);
    const [a, b, c] = ["a", "b", "c"].map(
      (jti) => fx?.token(key1, { payload: { jti } }) as string,
    ) as [string, string, string];
    // Room for two of these tokens (of equal length), whatever the entry count allows.
    const verifier = fx.build({ tokenCacheMaxBytes: 2 * entryBytes(a) + 10 });
    await verifier.verify(a);
    await verifier.verify(b);
    await verifier.verify(a);
    await verifier.verify(c);
    expect(hits(fx)).toBe(1);
    await verifier.verify(a);
    expect(hits(fx)).toBe(2);
    await verifier.verify(b);
    expect(hits(fx)).toBe(2);
  });

  it("refuses a byte budget that is not a positive number", async () => {
    fx = await createVerifierFixture([key1]);
    for (const tokenCacheMaxBytes of [0, -1, Number.NaN]) {
      expect(() => fx?.build({ tokenCacheMaxBytes })).toThrow(/tokenCacheMaxBytes/);
    }
  });
});

describe("TokenCache", () => {
  const key = { retired: false } as never;

  it("holds at most its capacity", () => {
    const cache = new TokenCache(3);
    for (let i = 0; i < 10; i++) cache.set(`t${i}`, { claims: {} as never, key });
    expect(cache.size).toBe(3);
    expect(cache.get("t9")).toBeDefined();
    expect(cache.get("t0")).toBeUndefined();
  });

  it("evicts the least recently used entry; a hit or a new set makes an entry the most recent", () => {
    const cache = new TokenCache(3);
    const entry = () => ({ claims: {} as never, key });
    cache.set("a", entry());
    cache.set("b", entry());
    cache.set("c", entry());
    expect(cache.get("a")).toBeDefined();
    cache.set("d", entry());
    expect([...cache.keys()]).toEqual(["d", "a", "c"]);
    cache.set("c", entry());
    cache.set("e", entry());
    expect([...cache.keys()]).toEqual(["e", "c", "d"]);
    expect(cache.size).toBe(3);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBeUndefined();
  });

  it("keeps exactly the most recently used tokens, up to its bound, through any mix of calls", () => {
    const capacity = 50;
    const cache = new TokenCache(capacity);
    // Reference model: most recently used first.
    let model: string[] = [];
    const touch = (token: string) => {
      model = [token, ...model.filter((t) => t !== token)].slice(0, capacity);
    };
    let largest = 0;
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return Math.floor(seed / 65_536) % n;
    };
    for (let step = 0; step < 5_000; step++) {
      const token = `t${random(120)}`;
      const op = random(10);
      if (op < 5) {
        const hit = cache.get(token) !== undefined;
        expect(hit).toBe(model.includes(token));
        if (hit) touch(token);
      } else if (op < 9) {
        cache.set(token, { claims: {} as never, key });
        touch(token);
      } else {
        cache.delete(token);
        model = model.filter((t) => t !== token);
      }
      expect(cache.size).toBe(model.length);
      largest = Math.max(largest, cache.size);
    }
    expect(largest).toBe(capacity);
    expect([...cache.keys()]).toEqual(model);
  });

  it("drops entries of retired keys, on a hit and all at once, keeping the order of the rest", () => {
    const live = { retired: false } as never;
    const leaving = { retired: false };
    const cache = new TokenCache(10);
    for (const token of ["a", "b", "c", "d", "e"]) {
      cache.set(token, {
        claims: {} as never,
        key: token === "b" || token === "d" ? leaving : live,
      } as never);
    }
    leaving.retired = true;
    expect(cache.get("d")).toBeUndefined();
    expect([...cache.keys()]).toEqual(["e", "c", "b", "a"]);
    cache.dropRetired();
    expect([...cache.keys()]).toEqual(["e", "c", "a"]);
    expect(cache.size).toBe(3);
  });

  it("never answers for a different token that ends the same way", () => {
    const cache = new TokenCache(10);
    const tail = "s".repeat(100);
    const first = { claims: { sub: "first" } as never, key };
    const second = { claims: { sub: "second" } as never, key };
    cache.set(`a.${tail}`, first);
    expect(cache.get(`b.${tail}`)).toBeUndefined();
    cache.delete(`b.${tail}`);
    expect(cache.get(`a.${tail}`)).toBe(first);
    cache.set(`b.${tail}`, second);
    expect(cache.get(`b.${tail}`)).toBe(second);
    expect(cache.get(`a.${tail}`)).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it("holds at most its byte budget, and never a token larger than the whole budget", () => {
    const tokenOf = (i: number) => `${"h".repeat(100)}.${String(i).padStart(100, "0")}x`;
    const budget = 3 * entryBytes(tokenOf(0));
    const cache = new TokenCache(100, budget);
    for (let i = 0; i < 10; i++) cache.set(tokenOf(i), { claims: {} as never, key });
    expect(cache.size).toBe(3);
    expect(cache.bytes).toBeLessThanOrEqual(budget);
    expect([...cache.keys()]).toEqual([tokenOf(9), tokenOf(8), tokenOf(7)]);
    const huge = "x".repeat(budget);
    cache.set(huge, { claims: {} as never, key });
    expect(cache.get(huge)).toBeUndefined();
    expect(cache.size).toBe(3);
    cache.delete(tokenOf(8));
    expect(cache.bytes).toBe(2 * entryBytes(tokenOf(0)));
  });

  it("with capacity 0 keeps nothing", () => {
    const cache = new TokenCache(0);
    cache.set("t", { claims: {} as never, key });
    expect(cache.size).toBe(0);
  });
});
