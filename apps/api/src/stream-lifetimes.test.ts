import { type AccessTokenClaims, createAccessTokenVerifier } from "@repo/auth";
import { afterAll, describe, expect, it } from "vitest";
import { startKeyServer } from "../test/fixtures/key-server.js";
import { AUDIENCE, createSigner, m2mClaims } from "../test/fixtures/signer.js";
import { createStreamLifetimes, type StreamEndReason } from "./stream-lifetimes.js";

const signer = await createSigner();
const keys = await startKeyServer(() => [signer.publicJwk]);
const verifier = createAccessTokenVerifier({
  issuer: keys.issuer,
  jwksUri: keys.jwksUri,
  audience: AUDIENCE,
});
afterAll(async () => {
  verifier.close();
  await keys.close();
});

const claimsUntil = (exp: number) =>
  ({ ...m2mClaims(keys.issuer), exp }) as unknown as AccessTokenClaims;

const ended = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });

describe("createStreamLifetimes", () => {
  it("ends a stream at its token's exp with token_expired, and at once when it has passed", async () => {
    const ends: StreamEndReason[] = [];
    const lifetimes = createStreamLifetimes({
      verifier,
      now: Date.now,
      onEnd: (reason) => ends.push(reason),
    });
    const soon = lifetimes.watch(claimsUntil((Date.now() + 50) / 1000), undefined);
    expect(soon.reason()).toBeUndefined();
    expect(lifetimes.size()).toBe(1);
    await ended(soon.signal);
    expect(soon.reason()).toBe("token_expired");
    expect(lifetimes.size()).toBe(0);

    const past = lifetimes.watch(claimsUntil(Date.now() / 1000 - 1), undefined);
    expect(past.signal.aborted).toBe(true);
    expect(past.reason()).toBe("token_expired");
    expect(ends).toEqual(["token_expired", "token_expired"]);
  });

  it("keeps a stream of a far exp open, and releases it once however often asked", () => {
    const now = Date.now();
    const lifetimes = createStreamLifetimes({ verifier, now: () => now });
    const lease = lifetimes.watch(claimsUntil(now / 1000 + 40 * 86_400), undefined);
    expect(lease.signal.aborted).toBe(false);
    lease.release();
    lease.release();
    expect(lifetimes.size()).toBe(0);
  });

  it("forgets a stream whose client left, without a reason", () => {
    const lifetimes = createStreamLifetimes({ verifier, now: Date.now });
    const request = new AbortController();
    const lease = lifetimes.watch(claimsUntil(Date.now() / 1000 + 60), request.signal);
    request.abort();
    expect(lease.signal.aborted).toBe(true);
    expect(lease.reason()).toBeUndefined();
    expect(lifetimes.size()).toBe(0);
  });

  it("ends every stream at shutdown, and streams opened later at once", () => {
    const lifetimes = createStreamLifetimes({ verifier, now: Date.now });
    const exp = Date.now() / 1000 + 60;
    const open = [
      lifetimes.watch(claimsUntil(exp), undefined),
      lifetimes.watch(claimsUntil(exp), undefined),
    ];
    lifetimes.shutdown();
    expect(open.map((lease) => lease.reason())).toEqual(["shutting_down", "shutting_down"]);
    expect(lifetimes.watch(claimsUntil(exp), undefined).reason()).toBe("shutting_down");
    expect(lifetimes.size()).toBe(0);
  });

  it("leaves streams alone on keys_retired when their key is still published", async () => {
    const lifetimes = createStreamLifetimes({ verifier, now: Date.now });
    const claims = await verifier.verify(await signer.sign(m2mClaims(keys.issuer)));
    const lease = lifetimes.watch(claims, undefined);
    lifetimes.keysRetired();
    expect(lease.signal.aborted).toBe(false);
    lease.release();
  });
});
