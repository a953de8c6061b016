// CPU profiles of the API under autocannon, one server process per scenario, each started with
// `node --cpu-prof`: prints self time per function in µs per request. Not part of `pnpm bench`;
// bench/README.md ("Where the time goes") has its findings.
//
//   node bench/profile-api.mjs [public,cached,uncached] [seconds]
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startIssuer } from "@repo/issuer";
import autocannon from "autocannon";
import { startChild } from "./lib/child.mjs";
import { selfTimes } from "./lib/cpu-profile.mjs";
import { AUDIENCE } from "./lib/fixtures.mjs";
import { auth } from "./lib/repo-auth.mjs";

const scenarios = (process.argv[2] ?? "public,cached,uncached").split(",");
const durationS = Number(process.argv[3] ?? 10);
const TOP = 25;
const POOL_SIZE = 12_000;

const keysDir = await mkdtemp(join(tmpdir(), "bench-profile-keys-"));
const issuer = await startIssuer({ port: 0, keysDir, quiet: true });
const tokens = auth.createClientCredentialsClient({
  issuerBaseURL: issuer.issuer,
  clientId: "dev-writer",
  clientSecret: "dev-writer-secret",
  audience: AUDIENCE,
});
const token = await tokens.getToken();
await tokens.close();
const pool = scenarios.includes("uncached")
  ? await Promise.all(
      Array.from({ length: POOL_SIZE }, () => issuer.signAccessToken({ jti: randomUUID() })),
    )
  : [];

let next = 0;
const SCENARIOS = {
  public: { path: "/trpc/health", headers: () => ({}) },
  cached: { path: "/trpc/whoami", headers: () => ({ authorization: `Bearer ${token}` }) },
  uncached: {
    path: "/trpc/whoami",
    headers: () => {
      next = (next + 1) % pool.length;
      return { authorization: `Bearer ${pool[next]}` };
    },
  },
};

const trust = JSON.stringify({ issuerBaseURL: issuer.issuer, audience: AUDIENCE });
for (const name of scenarios) {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario ${name}`);
  const profileDir = await mkdtemp(join(tmpdir(), `bench-profile-${name}-`));
  const child = startChild(fileURLToPath(new URL("./processes/api-server.mjs", import.meta.url)), {
    args: [trust],
    execArgv: ["--expose-gc", "--cpu-prof", `--cpu-prof-dir=${profileDir}`],
  });
  const { url } = await child.receive("ready");
  const target = new URL(scenario.path, url).href;
  const requests = [
    {
      method: "GET",
      setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...scenario.headers() } }),
    },
  ];
  // A first pass fills the verified-token cache and warms the JIT; the profile covers both runs.
  await autocannon({ url: target, connections: 10, amount: POOL_SIZE, requests });
  const result = await autocannon({ url: target, connections: 10, duration: durationS, requests });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: failed answers`);
  await child.stop();
  const [file] = await readdir(profileDir);
  const { total, rows } = selfTimes(join(profileDir, file));
  const served = result.requests.total + POOL_SIZE;
  console.log(
    `\n${name}: ${served} requests, ${(total / served).toFixed(1)} µs of profiled time each`,
  );
  for (const [frame, micros] of rows.slice(0, TOP)) {
    console.log(`${(micros / served).toFixed(2).padStart(8)} µs  ${frame}`);
  }
  await rm(profileDir, { recursive: true, force: true });
}
await issuer.close();
await rm(keysDir, { recursive: true, force: true });
