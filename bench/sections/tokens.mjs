import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import Redis from "ioredis";
import { reportFailures, sendResult, startChild } from "../lib/child.mjs";
import { AUDIENCE, CLIENT_ID } from "../lib/fixtures.mjs";
import { pick } from "../lib/options.mjs";
import { auth, hasRedisStore, hasTokenClient } from "../lib/repo-auth.mjs";
import { startTokenEndpoint } from "../lib/token-endpoint.mjs";

reportFailures();

const CONCURRENT_CALLS = 1000;
const PROCESSES = 4;
const CALLS_PER_PROCESS = 250;
const SIMULATED_MS = pick(600_000, 180_000);
const TOKEN_LIFETIME_S = 60;
const STEP_MS = 1000;
const REDIS_URL = "redis://127.0.0.1:6379";

const client = (tokenEndpoint, extra = {}) =>
  auth.createClientCredentialsClient({
    tokenEndpoint,
    clientId: CLIENT_ID,
    clientSecret: "bench-secret",
    audience: AUDIENCE,
    ...extra,
  });

/** 1 000 callers of one process ask for a token at the same moment. */
async function concurrentCalls() {
  const endpoint = await startTokenEndpoint();
  const tokens = client(endpoint.tokenEndpoint);
  const results = await Promise.all(
    Array.from({ length: CONCURRENT_CALLS }, () => tokens.getToken()),
  );
  await tokens.close();
  await endpoint.close();
  return { calls: CONCURRENT_CALLS, posts: endpoint.posts, distinct: new Set(results).size };
}

/** Several processes sharing a Redis store ask at the same moment (released together over IPC). */
async function processesSharingRedis() {
  const endpoint = await startTokenEndpoint();
  const prefix = `bench:${randomUUID()}:`;
  const config = JSON.stringify({
    tokenEndpoint: endpoint.tokenEndpoint,
    audience: AUDIENCE,
    prefix,
    calls: CALLS_PER_PROCESS,
    redisUrl: REDIS_URL,
  });
  const workerPath = fileURLToPath(new URL("../processes/token-worker.mjs", import.meta.url));
  const workers = Array.from({ length: PROCESSES }, () =>
    startChild(workerPath, { args: [config] }),
  );
  try {
    await Promise.all(workers.map((worker) => worker.receive("ready")));
    const done = workers.map((worker) => worker.receive("done"));
    for (const worker of workers) worker.send({ type: "go" });
    const replies = await Promise.all(done);
    const distinct = new Set(replies.flatMap((reply) => reply.distinct));
    return {
      processes: PROCESSES,
      callsPerProcess: CALLS_PER_PROCESS,
      posts: endpoint.posts,
      distinct: distinct.size,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await endpoint.close();
    await deleteKeys(prefix);
  }
}

const connectRedis = async () => {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // Failures surface through the rejected commands; the event would only be logged twice.
  redis.on("error", () => {});
  await redis.connect();
  return redis;
};

async function redisAnswers() {
  try {
    const redis = await connectRedis();
    await redis.quit();
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

/**
 * Simulated time: a caller asks for a token every simulated second for ten minutes while the
 * endpoint hands out 60 s tokens. Counts POSTs, and checks that no caller ever received an expired
 * token, that only the very first call waited for one, and that a new token was never fetched while
 * the previous one was young.
 */
async function simulatedTime() {
  let clock = Date.UTC(2030, 0, 1);
  const now = () => clock;
  const endpoint = await startTokenEndpoint({ expiresIn: TOKEN_LIFETIME_S, now });
  // A background refresh is real I/O: before the clock moves on, let it finish, as it would in the
  // real second that the simulated one stands for.
  let requestDone;
  const onEvent = (event) => {
    if (event.type === "token_request") {
      requestDone = new Promise((resolve) => {
        settleRequest = resolve;
      });
    } else if (event.type === "token_received" || event.type === "token_request_failed") {
      settleRequest?.();
    }
  };
  let settleRequest;
  const tokens = client(endpoint.tokenEndpoint, { now, onEvent });
  const lifetime = TOKEN_LIFETIME_S * 1000;
  const start = clock;
  let expiredServed = 0;
  let previous;
  const renewals = [];
  for (let elapsed = 0; elapsed <= SIMULATED_MS; elapsed += STEP_MS) {
    clock = start + elapsed;
    const token = await tokens.getToken();
    const issuedAt = endpoint.issued.get(token);
    if (issuedAt === undefined || clock >= issuedAt + lifetime) expiredServed += 1;
    if (previous !== undefined && token !== previous) {
      renewals.push(issuedAt - endpoint.issued.get(previous));
    }
    previous = token;
    // One turn of the event loop lets a refresh the call started reach the endpoint.
    await new Promise((resolve) => setImmediate(resolve));
    await requestDone;
  }
  const { cacheMisses } = tokens.stats();
  await tokens.close();
  await endpoint.close();
  return {
    simulatedS: SIMULATED_MS / 1000,
    lifetimeS: TOKEN_LIFETIME_S,
    calls: SIMULATED_MS / STEP_MS + 1,
    posts: endpoint.posts,
    lifetimes: SIMULATED_MS / lifetime,
    expiredServed,
    waited: cacheMisses,
    shortestRenewalS: renewals.length ? Math.min(...renewals) / 1000 : null,
    longestRenewalS: renewals.length ? Math.max(...renewals) / 1000 : null,
  };
}

const data = { missing: [] };
if (hasTokenClient) {
  data.concurrent = await concurrentCalls();
  data.simulated = await simulatedTime();
} else {
  data.missing.push("createClientCredentialsClient");
}
if (!hasTokenClient || !hasRedisStore) data.missing.push("redisStore");
else if (!(await redisAnswers())) data.redisDown = REDIS_URL;
else data.redis = await processesSharingRedis();

sendResult(data);
