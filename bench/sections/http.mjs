import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { reportFailures, sendResult, startChild } from "../lib/child.mjs";
import { AUDIENCE, CLIENT_ID, createSigningKey, ISSUER, signTokens } from "../lib/fixtures.mjs";
import { startJwksServer } from "../lib/jwks-server.mjs";
import { pick, quick } from "../lib/options.mjs";
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

const processPath = (name) => fileURLToPath(new URL(`../processes/${name}`, import.meta.url));

const key = createSigningKey();
const jwks = await startJwksServer([key]);
const pool = signTokens(key, POOL_SIZE);
const [token] = pool;
const trust = JSON.stringify({ issuer: ISSUER, jwksUri: jwks.jwksUri, audience: AUDIENCE });

async function startServer(name) {
  const child = startChild(processPath(name), { args: [trust], execArgv: ["--expose-gc"] });
  const { url } = await child.receive("ready");
  return { child, origin: new URL(url).origin };
}

async function memory(server) {
  const { usage } = await server.child.request({ type: "memory" }, "memory");
  return usage;
}

/** Fails the run unless the route answers 200 with the token's subject: never time an error path. */
async function checkWhoami(url, expectSub) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  if (res.status !== 200 || !body.includes(expectSub)) {
    throw new Error(`${url} answered ${res.status}: ${body.slice(0, 200)}`);
  }
}

/**
 * Every scenario sets its request through `setupRequest`, so the load generator does the same work
 * per request whether or not the token changes.
 */
function requestsFor(authorization) {
  return [
    {
      method: "GET",
      setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...authorization() } }),
    },
  ];
}

function load(url, authorization, durationS) {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: durationS,
    requests: requestsFor(authorization),
  });
}

const api = hasApi ? await startServer("api-server.mjs") : undefined;
const peer = await startServer("express-server.mjs");
if (api) {
  await checkWhoami(`${api.origin}/trpc/whoami`, `${CLIENT_ID}@clients`);
  const health = await fetch(`${api.origin}/trpc/health`);
  if (health.status !== 200) throw new Error(`health answered ${health.status}`);
}
await checkWhoami(`${peer.origin}/whoami`, `${CLIENT_ID}@clients`);
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
    name: `API \`whoami\` (protected, new token per request: ${POOL_SIZE} tokens cycled)`,
    path: "/trpc/whoami",
    headers: () => {
      next = (next + 1) % pool.length;
      return { authorization: `Bearer ${pool[next]}` };
    },
  },
];
const scenarios = [
  ...(api
    ? apiScenarios.map((scenario) => ({ ...scenario, url: api.origin + scenario.path }))
    : []),
  {
    id: "express",
    name: "Express 5 + Auth0 `auth()` `/whoami` (peer)",
    url: `${peer.origin}/whoami`,
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
    const result = await load(scenario.url, scenario.headers, DURATION_S);
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
    });
  }
}

const after = { api: api && (await memory(api)), peer: await memory(peer) };
await api?.child.stop();
await peer.child.stop();
await jwks.close();

/** Per-round ratios of a scenario's req/s to another's measured in the same round. */
const ratioTo = (list, baseId) => {
  const base = runs.get(baseId);
  return summarize(base ? list.map((run, i) => run.rps / base[i].rps) : []);
};

sendResult({
  durationS: DURATION_S,
  rounds: ROUNDS,
  connections: CONNECTIONS,
  poolSize: POOL_SIZE,
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
      ratio: ratioTo(list, "public"),
      vsExpress: ratioTo(list, "express"),
    };
  }),
  memory: { idle, after },
});
