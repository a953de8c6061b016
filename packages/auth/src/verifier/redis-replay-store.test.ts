import { randomUUID } from "node:crypto";
import { generateTestKey, signProof, startPrivateRedis, thumbprintOf } from "@repo/test-utils";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { authErrorOf } from "../../test/support/expect-auth-error.js";
import {
  createVerifierFixture,
  type VerifierFixture,
} from "../../test/support/verifier-fixture.js";
import { InvalidDpopProofError, ReplayStoreUnavailableError } from "../errors.js";
import { dpopReplayStore, type RedisDpopReplayStore } from "./redis-replay-store.js";

const SHARED_REDIS = "redis://127.0.0.1:6379";
const URL_ = "https://api.example.local/trpc/whoami";
const issuerKey = generateTestKey("issuer", { alg: "RS256" });
const proofKey = generateTestKey("proof", { alg: "ES256" });
const cleanups: Array<() => Promise<void>> = [];
let admin: Redis;
let fixture: VerifierFixture;

beforeAll(async () => {
  admin = new Redis(SHARED_REDIS);
  fixture = await createVerifierFixture([issuerKey]);
});
afterAll(async () => {
  await fixture.close();
  await admin.quit();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function freshPrefix(): string {
  const prefix = `test:auth:dpop-jti:${randomUUID()}:`;
  cleanups.push(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  });
  return prefix;
}

function store(options: Parameters<typeof dpopReplayStore>[0]): RedisDpopReplayStore {
  const created = dpopReplayStore(options);
  cleanups.push(created.close);
  return created;
}

async function boundRequest() {
  const token = fixture.token(issuerKey, {
    payload: { cnf: { jkt: await thumbprintOf(proofKey) } },
  });
  const proof = signProof(proofKey, {
    url: URL_,
    accessToken: token,
    iat: fixture.clock.seconds(),
  });
  return { method: "GET", url: URL_, headers: { authorization: `DPoP ${token}`, dpop: proof } };
}

describe("dpopReplayStore (Redis)", () => {
  it("claims a key once (SET NX PX) and lets it expire with the proof's window", async () => {
    const prefix = freshPrefix();
    const replays = store({ url: SHARED_REDIS, prefix });
    expect(await replays.claim("k", 120_000)).toBe(true);
    expect(await replays.claim("k", 120_000)).toBe(false);
    const ttl = await admin.pttl(`${prefix}k`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120_000);
  });

  it("accepts exactly one of 50 parallel replays spread over 3 verifiers sharing Redis", async () => {
    const prefix = freshPrefix();
    const verifiers = [1, 2, 3].map(() =>
      fixture.build({ dpop: { replayStore: store({ url: SHARED_REDIS, prefix }) } }),
    );
    const request = await boundRequest();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        (verifiers[i % 3] as (typeof verifiers)[number]).authenticateRequest(request),
      ),
    );
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    for (const result of results) {
      if (result.status === "rejected") {
        expect(result.reason).toBeInstanceOf(InvalidDpopProofError);
        expect((result.reason as InvalidDpopProofError).reason).toBe("replay");
      }
    }
    // Keys name a hash, never the proof.
    const keys = await admin.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}[A-Za-z0-9_-]{43}$`));
  });

  it("fails closed: 503 while Redis is down, never an accepted proof", async () => {
    const redis = await startPrivateRedis();
    const replays = store({ url: redis.url, prefix: freshPrefix(), operationTimeout: 300 });
    const verifier = fixture.build({ dpop: { replayStore: replays } });
    await expect(verifier.authenticateRequest(await boundRequest())).resolves.toBeDefined();
    await redis.stop();
    const error = await authErrorOf(verifier.authenticateRequest(await boundRequest()));
    expect(error).toBeInstanceOf(ReplayStoreUnavailableError);
    expect(error.status).toBe(503);
  });

  it("needs a url or a client", () => {
    expect(() => dpopReplayStore({})).toThrow(TypeError);
  });
});
