import { EdgeVM } from "@edge-runtime/vm";
import { reportFailures, sendResult } from "../lib/child.mjs";
import {
  AUDIENCE,
  accessTokenClaims,
  createSigningKey,
  ISSUER,
  signJwt,
} from "../lib/fixtures.mjs";
import { startJwksServer } from "../lib/jwks-server.mjs";
import { pick } from "../lib/options.mjs";
import { bundleProbe, RUNTIMES, runProcess, withWorkerd } from "../lib/runtimes.mjs";
import { summarize } from "../lib/stats.mjs";

reportFailures();

// Rounds of `ITERATIONS[op]` calls per operation, the operations interleaved within each round. A
// cache hit takes well under a microsecond: its batches are longer, so that a batch timed from
// outside (workerd, the edge VM) outlasts the noise of the call that runs it.
const ROUNDS = pick(7, 1);
const RSA_CALLS = pick(1000, 50);
const ITERATIONS = { floor: RSA_CALLS, uncached: RSA_CALLS, cached: 40 * RSA_CALLS };
const OPS = Object.keys(ITERATIONS);
// Empty batches timed per round to estimate the cost of the call around a batch.
const EMPTY_BATCHES = 3;

const key = createSigningKey();
const jwks = await startJwksServer([key]);
const PROBE = {
  issuer: ISSUER,
  audience: AUDIENCE,
  jwksUri: jwks.jwksUri,
  token: signJwt(key, accessTokenClaims()),
  jwk: key.jwk,
};

async function elapsed(run) {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * µs per call of `batch(op, n)` timed from outside, less the cost of the call around the batch
 * (the median of a few empty batches).
 */
async function timeFromOutside(batch) {
  const samples = Object.fromEntries(OPS.map((op) => [op, []]));
  for (const op of OPS) await batch(op, 10);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const op of OPS) {
      const empty = [];
      for (let i = 0; i < EMPTY_BATCHES; i += 1) empty.push(await elapsed(() => batch(op, 0)));
      const total = await elapsed(() => batch(op, ITERATIONS[op]));
      samples[op].push(((total - summarize(empty).median) * 1000) / ITERATIONS[op]);
    }
  }
  return samples;
}

function measureInProcess(runtime) {
  const define = { PROBE, ROUNDS, ITERATIONS };
  return bundleProbe("runtime-probe-main.mjs", runtime.bundle, define).then((code) =>
    runProcess(runtime, code),
  );
}

async function measureInWorkerd(runtime) {
  const code = await bundleProbe("runtime-probe-worker.mjs", runtime.bundle, { PROBE });
  return withWorkerd(code, (url) =>
    timeFromOutside(async (op, n) => {
      const response = await fetch(`${url}/batch?op=${op}&n=${n}`);
      if (response.status !== 204) throw new Error(`workerd probe: ${response.status}`);
    }),
  );
}

async function measureInEdgeVm(runtime) {
  const code = await bundleProbe("runtime-probe-edge.mjs", runtime.bundle, { PROBE });
  const vm = new EdgeVM({ initialCode: code });
  await vm.evaluate("edgeProbe.prepare().then((probe) => { globalThis.probe = probe; })");
  return timeFromOutside((op, n) => vm.evaluate(`edgeProbe.batch(probe.ops.${op}, ${n})`));
}

const MEASURE = {
  process: measureInProcess,
  workerd: measureInWorkerd,
  "edge-vm": measureInEdgeVm,
};

const rows = [];
for (const runtime of RUNTIMES) {
  const samples = await MEASURE[runtime.launch](runtime);
  rows.push({
    id: runtime.id,
    runtime: runtime.runtime,
    version: runtime.version,
    build: runtime.build,
    floor: summarize(samples.floor),
    uncached: summarize(samples.uncached),
    cached: summarize(samples.cached),
    ratio: summarize(samples.uncached.map((value, i) => value / samples.floor[i])),
  });
}

await jwks.close();
sendResult({ rounds: ROUNDS, iterations: RSA_CALLS, rows });
