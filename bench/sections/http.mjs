import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startIssuer } from "@repo/issuer";
import autocannon from "autocannon";
import { reportFailures, sendResult, startChild } from "../lib/child.mjs";
import { AUDIENCE } from "../lib/fixtures.mjs";
import { pick, quick } from "../lib/options.mjs";
import { auth } from "../lib/repo-auth.mjs";
import { summarize } from "../lib/stats.mjs";

reportFailures();

const apiModule = await import("@repo/api");
const hasApi = typeof apiModule.startApiServer === "function";

const DURATION_S = pick(8, 1);
const ROUNDS = pick(5, 1);
const CONNECTIONS = 10;
// Larger than the API's verified-token cache (10 000 entries), so cycling through the pool never
// hits it: every request pays a full verification.
const POOL_SIZE = pick(12_000, 300);
const SIGNING_BATCH = 250;

const processPath = (name) => fileURLToPath(new URL(`../processes/${name}`, import.meta.url));

// The development issuer, with keys of its own in a temporary folder: both servers find its keys
// through discovery, as they would find an Auth0 tenant's.
const keysDir = await mkdtemp(join(tmpdir(), "bench-issuer-keys-"));
const issuer = await startIssuer({ port: 0, keysDir, quiet: true });

// The token the protected scenarios reuse comes the way a caller gets it: our token client, the
// client-credentials grant, the seeded development client.
const tokens = auth.createClientCredentialsClient({
  issuerBaseURL: issuer.issuer,
  clientId: "dev-writer",
  clientSecret: "dev-writer-secret",
  audience: AUDIENCE,
});
const token = await tokens.getToken();
await tokens.close();
const subject = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sub;

// Distinct tokens signed by the issuer's current key (a unique `jti` each).
const pool = [];
while (pool.length < POOL_SIZE) {
  const batch = Math.min(SIGNING_BATCH, POOL_SIZE - pool.length);
  pool.push(
    ...(await Promise.all(
      Array.from({ length: batch }, () => issuer.signAccessToken({ jti: randomUUID() })),
    )),
  );
}
if (new Set(pool).size !== POOL_SIZE) throw new Error("the token pool holds duplicates");

const trust = JSON.stringify({ issuerBaseURL: issuer.issuer, audience: AUDIENCE });

async function startServer(name, options = {}) {
  const child = startChild(processPath(name), {
    args: [trust, JSON.stringify(options)],
    execArgv: ["--expose-gc"],
  });
  const { url } = await child.receive("ready");
  return { child, origin: new URL(url).origin };
}

/** CPU time the server process has used so far, in µs (user + system). */
async function cpuTime(server) {
  const { usage } = await server.child.request({ type: "cpu" }, "cpu");
  return usage.user + usage.system;
}

async function memory(server) {
  const { usage } = await server.child.request({ type: "memory" }, "memory");
  return usage;
}

/** Fails the run unless the route answers 200 with the token's subject: never time an error path. */
async function checkWhoami(url, bearer) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${bearer}` } });
  const body = await res.text();
  const expected = JSON.parse(Buffer.from(bearer.split(".")[1], "base64url").toString()).sub;
  if (res.status !== 200 || !body.includes(expected)) {
    throw new Error(`${url} answered ${res.status}: ${body.slice(0, 200)}`);
  }
}

/**
 * Every scenario sets its request through `setupRequest`, so the load generator does the same work
 * per request whether or not the token changes.
 */
function requestsFor(headers) {
  return [
    {
      method: "GET",
      setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...headers() } }),
    },
  ];
}

function load(url, headers, durationS) {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: durationS,
    requests: requestsFor(headers),
  });
}

const api = hasApi ? await startServer("api-server.mjs") : undefined;
// The same API with its query fast path off: what tRPC's own Node adapter serves, side by side.
const stock = hasApi ? await startServer("api-server.mjs", { fastQueries: false }) : undefined;
const peer = await startServer("express-server.mjs");
if (api) {
  await checkWhoami(`${api.origin}/trpc/whoami`, token);
  await checkWhoami(`${api.origin}/trpc/whoami`, pool[0]);
  const health = await fetch(`${api.origin}/trpc/health`);
  if (health.status !== 200) throw new Error(`health answered ${health.status}`);
}
if (stock) await checkWhoami(`${stock.origin}/trpc/whoami`, token);
await checkWhoami(`${peer.origin}/whoami`, token);
const idle = { api: api && (await memory(api)), peer: await memory(peer) };

let next = 0;
const apiScenarios = [
  {
    id: "plain",
    name: "API `GET /healthz` (plain Node route, no tRPC: the server's ceiling)",
    path: "/healthz",
    headers: () => ({}),
  },
  {
    id: "public",
    name: "API `health` (public)",
    path: "/trpc/health",
    headers: () => ({}),
  },
  {
    id: "cached",
    name: "API `whoami` (protected, same token: cache hit)",
    path: "/trpc/whoami",
    headers: () => ({ authorization: `Bearer ${token}` }),
  },
  {
    id: "uncached",
    name: "API `whoami` (protected, new token per request)",
    path: "/trpc/whoami",
    headers: () => {
      next = (next + 1) % pool.length;
      return { authorization: `Bearer ${pool[next]}` };
    },
  },
];
const scenarios = [
  ...(api
    ? apiScenarios.map((scenario) => ({
        ...scenario,
        url: api.origin + scenario.path,
        server: api,
      }))
    : []),
  ...(stock
    ? [
        {
          id: "cached-stock",
          name: "API `whoami` (protected, same token), tRPC's Node adapter only (query fast path off)",
          url: `${stock.origin}/trpc/whoami`,
          server: stock,
          headers: () => ({ authorization: `Bearer ${token}` }),
        },
      ]
    : []),
  {
    id: "express",
    name: "Express 5 + Auth0 `auth()` `/whoami` (peer)",
    url: `${peer.origin}/whoami`,
    server: peer,
    headers: () => ({ authorization: `Bearer ${token}` }),
  },
];

if (!quick) {
  for (const scenario of scenarios) await load(scenario.url, scenario.headers, 1);
}

const runs = new Map(scenarios.map((scenario) => [scenario.id, []]));
for (let round = 0; round < ROUNDS; round += 1) {
  const order = scenarios.map((_, i) => scenarios[(i + round) % scenarios.length]);
  for (const scenario of order) {
    const cpuBefore = await cpuTime(scenario.server);
    const result = await load(scenario.url, scenario.headers, DURATION_S);
    const cpuUsed = (await cpuTime(scenario.server)) - cpuBefore;
    if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0) {
      throw new Error(
        `${scenario.id}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`,
      );
    }
    runs.get(scenario.id).push({
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      total: result.requests.total,
      cpuPerRequest: cpuUsed / result.requests.total,
    });
  }
}

const after = { api: api && (await memory(api)), peer: await memory(peer) };
await api?.child.stop();
await stock?.child.stop();
await peer.child.stop();
await issuer.close();
await rm(keysDir, { recursive: true, force: true });

/** Per-round ratios of a scenario's req/s to another's measured in the same round. */
const ratioTo = (list, baseId) => {
  const base = runs.get(baseId);
  return summarize(base ? list.map((run, i) => run.rps / base[i].rps) : []);
};

const fastPathRuns = runs.get("cached");
const stockRuns = runs.get("cached-stock");
sendResult({
  // The query fast path's worth: the protected cached route with it over the same without it.
  fastPathGain:
    fastPathRuns && stockRuns
      ? summarize(fastPathRuns.map((run, i) => run.rps / stockRuns[i].rps))
      : undefined,
  durationS: DURATION_S,
  rounds: ROUNDS,
  connections: CONNECTIONS,
  poolSize: POOL_SIZE,
  subject,
  missing: api ? [] : ["startApiServer"],
  rows: scenarios.map((scenario) => {
    const list = runs.get(scenario.id);
    return {
      id: scenario.id,
      name: scenario.name,
      rps: summarize(list.map((run) => run.rps)),
      p50: summarize(list.map((run) => run.p50)),
      p99: summarize(list.map((run) => run.p99)),
      requests: list.reduce((sum, run) => sum + run.total, 0),
      cpu: summarize(list.map((run) => run.cpuPerRequest)),
      ratio: ratioTo(list, "public"),
      vsExpress: ratioTo(list, "express"),
    };
  }),
  memory: { idle, after },
});
