// Compares polling with announcements for callers waiting on another process's token request:
// `node --import tsx --conditions=@repo/source bench/redis-wait.ts` (needs redis-server). Each
// round varies the endpoint's latency, so that it falls at a different point of the polling
// schedule. It runs the measurement the Redis waiting tests count commands with, on the sources.
import {
  measureWaiters,
  type WaitMeasurement,
} from "../packages/auth/test/support/measure-waiters.js";

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const scenario = { processes: 4, clientsEach: 5 };

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

const rows: string[] = [];
for (const announce of [false, true]) {
  const runs: WaitMeasurement[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    runs.push(
      await measureWaiters({ ...scenario, announce, delayMs: 500 + (round * 200) / ROUNDS }),
    );
  }
  const wake = runs.flatMap((r) => r.wakeMs);
  const mean = (pick: (r: WaitMeasurement) => number) =>
    (runs.reduce((sum, r) => sum + pick(r), 0) / runs.length).toFixed(1);
  rows.push(
    `| ${announce ? "announced" : "polled"} | ${percentile(wake, 0.5).toFixed(1)} | ${percentile(wake, 0.95).toFixed(1)} | ${mean((r) => r.commands)} | ${mean((r) => r.gets)} | ${mean((r) => r.lockAttempts)} | ${mean((r) => r.tokenRequests)} |`,
  );
}
const waiters = scenario.processes * scenario.clientsEach - 1;
console.log(
  `${waiters} waiters on ${scenario.processes} connections, endpoint 500-700 ms, ${ROUNDS} rounds each\n` +
    "| waiting | wake p50 ms | wake p95 ms | commands | GETs | lock attempts | token POSTs |\n" +
    "|---|---|---|---|---|---|---|\n" +
    rows.join("\n"),
);
