import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import { auth as auth0 } from "express-oauth2-jwt-bearer";
import { createVerifier } from "fast-jwt";
import { importJWK, jwtVerify } from "jose";
import { measure } from "mitata";
import { reportFailures, sendResult } from "../lib/child.mjs";
import {
  AUDIENCE,
  accessTokenClaims,
  CLIENT_ID,
  createSigningKey,
  ISSUER,
  signJwt,
  signTokens,
} from "../lib/fixtures.mjs";
import { startJwksServer } from "../lib/jwks-server.mjs";
import { pick } from "../lib/options.mjs";
import { auth, hasVerifier } from "../lib/repo-auth.mjs";
import { summarize } from "../lib/stats.mjs";

reportFailures();

// Many short rounds rather than a few long ones: each round's ratios pair implementations measured
// within about a second of each other, which keeps a shared machine's slow phases out of the ratios.
const ROUNDS = pick(15, 1);
const MIN_CPU_TIME_NS = pick(150e6, 15e6);
// Iterations per sample when an operation is fast enough to be batched. Small batches keep most
// samples shorter than a scheduler time slice, so on a busy machine the median sample is one that
// was not preempted (mitata's default of 4 096 makes every sample of a 20 µs operation span several).
const BATCH_SAMPLES = 16;
// The verifier's default cache bound; quick mode fills a smaller cache to stay within seconds.
const FULL_CACHE = pick(10_000, 1000);
const SUBJECT = `${CLIENT_ID}@clients`;
// Distinct tokens for the "unique tokens" rows: more than the verified-token cache holds, so cycling
// through them every call misses and pays the cache's insertion and eviction. Quick mode gives those
// verifiers a smaller cache to match its smaller pool.
const UNIQUE_POOL = pick(12_000, 1_100);
const UNIQUE_CACHE = pick(undefined, 1000);

const key = createSigningKey();
const jwks = await startJwksServer([key]);
const token = signJwt(key, accessTokenClaims());
// Flat strings, as a server reads them out of an Authorization header (a template literal builds a
// rope that the first reader would have to flatten).
const pool = signTokens(key, UNIQUE_POOL).map((each) => Buffer.from(each).toString("latin1"));

/** A request as Express 5 hands it to middleware, with only what `auth()` reads. */
function expressRequest(authorization) {
  const headers = { authorization, host: "127.0.0.1" };
  return {
    headers,
    method: "GET",
    url: "/whoami",
    originalUrl: "/whoami",
    protocol: "http",
    query: {},
    body: undefined,
    socket: { remoteAddress: "127.0.0.1" },
    get: (name) => headers[name.toLowerCase()],
    is: () => false,
  };
}

async function floorCase() {
  const [header, payload, signature] = token.split(".");
  const input = Buffer.from(`${header}.${payload}`);
  const signatureBytes = Buffer.from(signature, "base64url");
  const keyObject = createPublicKey({ key: key.jwk, format: "jwk" });
  return () => {
    if (!cryptoVerify("RSA-SHA256", input, keyObject, signatureBytes)) throw new Error("bad");
    return SUBJECT;
  };
}

async function joseCase() {
  const publicKey = await importJWK(key.jwk, "RS256");
  const options = { issuer: ISSUER, audience: AUDIENCE, algorithms: ["RS256"] };
  return async () => (await jwtVerify(token, publicKey, options)).payload.sub;
}

function fastJwtCase(cache) {
  const verifyToken = createVerifier({
    key: key.publicPem,
    algorithms: ["RS256"],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    cache,
  });
  return () => verifyToken(token).sub;
}

function auth0Case() {
  const middleware = auth0({
    issuer: ISSUER,
    jwksUri: jwks.jwksUri,
    audience: AUDIENCE,
    tokenSigningAlg: "RS256",
  });
  const authorization = `Bearer ${token}`;
  return () =>
    new Promise((resolve, reject) => {
      const req = expressRequest(authorization);
      middleware(req, {}, (error) => (error ? reject(error) : resolve(req.auth.payload.sub)));
    });
}

/**
 * Our verifier; `others` distinct tokens are verified first, so that the timed token is a hit in a
 * cache holding that many entries (a service that sees many callers' tokens).
 */
async function oursCase(tokenCacheSize, others = 0) {
  const verifier = auth.createAccessTokenVerifier({
    issuer: ISSUER,
    jwksUri: jwks.jwksUri,
    audience: AUDIENCE,
    tokenCacheSize,
  });
  await verifier.warmUp();
  for (const other of signTokens(key, others)) await verifier.verify(other);
  return async () => (await verifier.verify(token)).sub;
}

/** Our verifier on a new token every call, cycling through the pool. */
async function oursUniqueCase(tokenCacheSize) {
  const verifier = auth.createAccessTokenVerifier({
    issuer: ISSUER,
    jwksUri: jwks.jwksUri,
    audience: AUDIENCE,
    tokenCacheSize,
  });
  await verifier.warmUp();
  let next = 0;
  return async () => {
    next = next + 1 === pool.length ? 0 : next + 1;
    return (await verifier.verify(pool[next])).sub;
  };
}

const cases = [
  {
    id: "floor",
    name: "floor: `crypto.verify('RSA-SHA256')`, prepared KeyObject",
    make: floorCase,
  },
  { id: "jose", name: "`jose.jwtVerify`, local key", make: joseCase },
  { id: "fast-jwt", name: "`fast-jwt`, no cache", make: () => fastJwtCase(false) },
  { id: "fast-jwt-cache", name: "`fast-jwt`, cache hit", make: () => fastJwtCase(1000) },
  { id: "auth0", name: "Auth0 `express-oauth2-jwt-bearer` `auth()`", make: auth0Case },
  {
    id: "ours-uncached",
    name: "ours, verified-token cache off",
    make: () => oursCase(false),
    needsVerifier: true,
  },
  {
    id: "ours-unique",
    name: `ours, default options, a new token every call (cache insertion and eviction included)`,
    make: () => oursUniqueCase(UNIQUE_CACHE),
    needsVerifier: true,
  },
  {
    id: "ours-unique-off",
    name: "ours, verified-token cache off, a new token every call",
    make: () => oursUniqueCase(false),
    needsVerifier: true,
  },
  {
    id: "ours-cached",
    name: "ours, verified-token cache hit",
    make: () => oursCase(undefined),
    needsVerifier: true,
  },
  {
    id: "ours-cached-full",
    name: `ours, verified-token cache hit, cache full (${FULL_CACHE.toLocaleString("en-US").replaceAll(",", " ")} entries)`,
    make: () => oursCase(FULL_CACHE, FULL_CACHE - 1),
    needsVerifier: true,
  },
];

const runnable = [];
const missing = [];
for (const entry of cases) {
  if (entry.needsVerifier && !hasVerifier) {
    missing.push(entry.name);
    continue;
  }
  const run = await entry.make();
  // Every implementation must accept the token before it is timed: a benchmark of a failure path
  // would be meaningless, so a rejection fails the run.
  const subject = await run();
  if (subject !== SUBJECT) throw new Error(`${entry.id} returned ${subject}`);
  runnable.push({ ...entry, run, p50: [], ratio: [] });
}

for (let round = 0; round < ROUNDS; round += 1) {
  // Rotating the order spreads slow phases of a shared machine over every implementation.
  const order = runnable.map((_, i) => runnable[(i + round) % runnable.length]);
  const p50 = new Map();
  for (const entry of order) {
    const stats = await measure(entry.run, {
      min_cpu_time: MIN_CPU_TIME_NS,
      batch_samples: BATCH_SAMPLES,
    });
    p50.set(entry.id, stats.p50);
  }
  for (const entry of runnable) {
    entry.p50.push(p50.get(entry.id) / 1000);
    entry.ratio.push(p50.get(entry.id) / p50.get("floor"));
  }
}

await jwks.close();
const perRound = (id) => runnable.find((entry) => entry.id === id)?.p50;
const [unique, uniqueOff] = [perRound("ours-unique"), perRound("ours-unique-off")];
sendResult({
  rounds: ROUNDS,
  minCpuTimeMs: MIN_CPU_TIME_NS / 1e6,
  uniquePool: UNIQUE_POOL,
  // What the cache adds to a miss, per round: the same tokens with the cache on and off.
  missCost:
    unique && uniqueOff ? summarize(unique.map((micros, i) => micros - uniqueOff[i])) : undefined,
  missing,
  rows: runnable.map((entry) => ({
    id: entry.id,
    name: entry.name,
    micros: summarize(entry.p50),
    ratio: summarize(entry.ratio),
  })),
});
