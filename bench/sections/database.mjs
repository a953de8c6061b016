// The API's protected item procedures on each backend: `items.create` (a transaction that writes
// the item and its audit event) and `items.list` (a page of 50), on the embedded PGlite and on a
// private Postgres, each next to the public `health` of the same server, measured in the same round.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startIssuer } from "@repo/issuer";
import autocannon from "autocannon";
import { reportFailures, sendResult, startChild } from "../lib/child.mjs";
import { AUDIENCE } from "../lib/fixtures.mjs";
import { pick } from "../lib/options.mjs";
import { startPrivatePostgres } from "../lib/private-postgres.mjs";
import { auth } from "../lib/repo-auth.mjs";
import { summarize } from "../lib/stats.mjs";

reportFailures();

const DURATION_S = pick(5, 1);
const ROUNDS = pick(3, 1);
const CONNECTIONS = 10;
const PAGE = 50;

const keysDir = await mkdtemp(join(tmpdir(), "bench-issuer-keys-"));
const issuer = await startIssuer({ port: 0, keysDir, quiet: true });
const tokens = auth.createClientCredentialsClient({
  issuerBaseURL: issuer.issuer,
  clientId: "dev-writer",
  clientSecret: "dev-writer-secret",
  audience: AUDIENCE,
});
const token = await tokens.getToken();
await tokens.close();
const postgres = await startPrivatePostgres();

async function startApi(databaseUrl) {
  const trust = JSON.stringify({ issuerBaseURL: issuer.issuer, audience: AUDIENCE, databaseUrl });
  const child = startChild(fileURLToPath(new URL("../processes/api-server.mjs", import.meta.url)), {
    args: [trust],
  });
  const { url } = await child.receive("ready");
  return { child, origin: new URL(url).origin };
}

const backends = [{ id: "pglite", name: "PGlite (embedded, in memory)", api: await startApi() }];
if (postgres) {
  backends.push({
    id: "postgres",
    name: "Postgres (pool of 10)",
    api: await startApi(postgres.url),
  });
}

const authorization = `Bearer ${token}`;
const listInput = encodeURIComponent(JSON.stringify({ limit: PAGE }));
const scenariosOf = (backend) => [
  { id: `${backend.id}-health`, procedure: "health", method: "GET", path: "/trpc/health" },
  {
    id: `${backend.id}-create`,
    procedure: "items.create",
    method: "POST",
    path: "/trpc/items.create",
    body: JSON.stringify({ name: "bench item" }),
  },
  {
    id: `${backend.id}-list`,
    procedure: "items.list",
    method: "GET",
    path: `/trpc/items.list?input=${listInput}`,
  },
];

// Never time an error path: every scenario must answer 200 first, and a full first page exists.
for (const backend of backends) {
  for (let i = 0; i < PAGE + 1; i++) {
    const res = await fetch(`${backend.api.origin}/trpc/items.create`, {
      method: "POST",
      headers: { authorization, "content-type": "application/json" },
      body: JSON.stringify({ name: `seed ${i}` }),
    });
    if (res.status !== 200) throw new Error(`${backend.id} create answered ${res.status}`);
  }
}

const load = (backend, scenario, duration) =>
  autocannon({
    url: backend.api.origin + scenario.path,
    connections: CONNECTIONS,
    duration,
    method: scenario.method,
    headers: { authorization, "content-type": "application/json" },
    ...(scenario.body ? { body: scenario.body } : {}),
  });

const runs = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const backend of backends) {
    for (const scenario of scenariosOf(backend)) {
      const result = await load(backend, scenario, DURATION_S);
      if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0) {
        throw new Error(`${scenario.id}: ${result.errors} errors, ${result.non2xx} non-2xx`);
      }
      const list = runs.get(scenario.id) ?? [];
      list.push({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 });
      runs.set(scenario.id, list);
    }
  }
}

for (const backend of backends) await backend.api.child.stop();
postgres?.stop();
await issuer.close();
await rm(keysDir, { recursive: true, force: true });

sendResult({
  durationS: DURATION_S,
  rounds: ROUNDS,
  connections: CONNECTIONS,
  missing: postgres ? [] : ["postgres (install Debian's postgresql package)"],
  rows: backends.flatMap((backend) =>
    scenariosOf(backend).map((scenario) => {
      const list = runs.get(scenario.id);
      const health = runs.get(`${backend.id}-health`);
      return {
        id: scenario.id,
        name: `${backend.name}: \`${scenario.procedure}\``,
        rps: summarize(list.map((run) => run.rps)),
        p50: summarize(list.map((run) => run.p50)),
        p99: summarize(list.map((run) => run.p99)),
        ratio: summarize(list.map((run, i) => run.rps / health[i].rps)),
      };
    }),
  ),
});
