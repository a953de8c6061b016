import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import Redis from "ioredis";
import { reportFailures, sendResult, startChild } from "../lib/child.mjs";
import {
  AUDIENCE,
  accessTokenClaims,
  CLIENT_ID,
  createSigningKey,
  ISSUER,
  signJwt,
} from "../lib/fixtures.mjs";
import { startJwksServer } from "../lib/jwks-server.mjs";
import { pick, quick } from "../lib/options.mjs";
import { auth, authRedis, hasRedisStore } from "../lib/repo-auth.mjs";
import { summarize } from "../lib/stats.mjs";
import { startTokenEndpoint } from "../lib/token-endpoint.mjs";

reportFailures();

// Measured fleets: 1 and 2 API processes behind one port. Larger fleets are projected (the machine
// has 2 cores) and their token and key traffic simulated with one client or verifier per instance.
const MEASURED = [1, 2];
const SIMULATED = [1, 2, 4, 8, 16, 32];
const DURATION_S = pick(6, 1);
const ROUNDS = pick(3, 1);
const CONNECTIONS = 10;
const REDIS_URL = "redis://127.0.0.1:6379";

const key = createSigningKey();
const token = signJwt(key, accessTokenClaims());
const clusterPath = fileURLToPath(new URL("../processes/api-cluster.mjs", import.meta.url));

/** A fleet of `workers` API processes behind one port, with its own counting JWKS endpoint. */
async function startFleet(workers) {
  const jwks = await startJwksServer([key]);
  const env = {
    NODE_ENV: "production",
    JWKS_URI: jwks.jwksUri,
    ISSUER,
    AUDIENCE,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
  };
  const child = startChild(clusterPath, { args: [JSON.stringify({ workers, env })] });
  const { url } = await child.receive("ready");
  return { workers, jwks, child, url: `${url}/trpc/whoami` };
}

async function cpuTime(fleet) {
  const { usage } = await fleet.child.request({ type: "cpu" }, "cpu");
  return usage.user + usage.system;
}

const load = (url, durationS) =>
  autocannon({
    url,
    connections: CONNECTIONS,
    duration: durationS,
    headers: { authorization: `Bearer ${token}` },
  });

async function measuredFleets() {
  const fleets = [];
  for (const workers of MEASURED) fleets.push(await startFleet(workers));
  const runs = new Map(fleets.map((fleet) => [fleet.workers, []]));
  try {
    if (!quick) for (const fleet of fleets) await load(fleet.url, 1);
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 ? [...fleets].reverse() : fleets;
      for (const fleet of order) {
        const before = await cpuTime(fleet);
        const result = await load(fleet.url, DURATION_S);
        const used = (await cpuTime(fleet)) - before;
        if (result.errors > 0 || result.non2xx > 0) {
          throw new Error(
            `fleet of ${fleet.workers}: ${result.non2xx} non-2xx, ${result.errors} errors`,
          );
        }
        runs.get(fleet.workers).push({
          rps: result.requests.average,
          cpuPerRequest: used / result.requests.total,
        });
      }
    }
    return fleets.map((fleet) => {
      const list = runs.get(fleet.workers);
      const cpu = summarize(list.map((run) => run.cpuPerRequest));
      return {
        processes: fleet.workers,
        rps: summarize(list.map((run) => run.rps)),
        cpu,
        // What one fully used core serves at this CPU cost per request.
        perCore: 1e6 / cpu.median,
        jwksFetches: fleet.jwks.fetches,
      };
    });
  } finally {
    for (const fleet of fleets) {
      await fleet.child.stop();
      await fleet.jwks.close();
    }
  }
}

const connectRedis = async () => {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  await redis.connect();
  return redis;
};

/** Whether Redis answers at all (without it, the token rows say "not measured"). */
async function redisAnswers() {
  try {
    await (await connectRedis()).quit();
    return true;
  } catch {
    return false;
  }
}

async function deleteKeys(prefix) {
  const redis = await connectRedis();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}

/** `instances` token clients sharing one Redis store (one per caller instance) ask at once. */
async function tokenPosts(instances) {
  const endpoint = await startTokenEndpoint();
  const prefix = `bench:fleet:${randomUUID()}:`;
  const clients = Array.from({ length: instances }, () =>
    auth.createClientCredentialsClient({
      tokenEndpoint: endpoint.tokenEndpoint,
      clientId: CLIENT_ID,
      clientSecret: "bench-secret",
      audience: AUDIENCE,
      store: authRedis.redisStore({ url: REDIS_URL, prefix }),
    }),
  );
  try {
    const tokens = await Promise.all(clients.map((client) => client.getToken()));
    return { posts: endpoint.posts, distinct: new Set(tokens).size };
  } finally {
    for (const client of clients) await client.close();
    await endpoint.close();
    await deleteKeys(prefix);
  }
}

/** `instances` verifiers (one per API instance) load their keys at once. */
async function jwksFetches(instances) {
  const jwks = await startJwksServer([key]);
  const verifiers = Array.from({ length: instances }, () =>
    auth.createAccessTokenVerifier({ issuer: ISSUER, jwksUri: jwks.jwksUri, audience: AUDIENCE }),
  );
  try {
    await Promise.all(verifiers.map((verifier) => verifier.verify(token)));
    return jwks.fetches;
  } finally {
    for (const verifier of verifiers) verifier.close();
    await jwks.close();
  }
}

const measured = await measuredFleets();
const perCore = Math.min(...measured.map((fleet) => fleet.perCore));
const withRedis = hasRedisStore && (await redisAnswers());
const simulated = [];
for (const instances of SIMULATED) {
  simulated.push({
    instances,
    projectedRps: instances * perCore,
    jwksFetches: await jwksFetches(instances),
    tokens: withRedis ? await tokenPosts(instances) : undefined,
  });
}
sendResult({
  durationS: DURATION_S,
  rounds: ROUNDS,
  connections: CONNECTIONS,
  measured,
  simulated,
});
