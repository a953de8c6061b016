/**
 * The benchmark targets, as data: what each one is, its goal (and the number in it, `bound`), and
 * how the sections' results decide it. `measure(results, bound)` returns the measured value, whether
 * the goal was met and by how much it was missed, or undefined when the measurement did not run.
 */
import { count, fixed } from "./markdown.mjs";

/** The row `id` of a section's measurements, if it ran. */
export const rowOf = (rows, id) => rows?.find((entry) => entry.id === id);

const postsOnce = (run) =>
  run && {
    value: `${run.posts} POST(s), ${run.distinct} distinct token(s)`,
    met: run.posts === 1,
    miss: `${run.posts - 1} extra POST(s)`,
  };

const httpRatio =
  (id) =>
  ({ http }, bound) => {
    const entry = rowOf(http?.rows, id);
    return (
      entry && {
        value: `${fixed(entry.ratio.median)}× public`,
        met: entry.ratio.median >= bound,
        miss: `${fixed((1 - entry.ratio.median / bound) * 100, 0)}% under`,
      }
    );
  };

const databaseRatio =
  (id) =>
  ({ database }, bound) => {
    const entry = rowOf(database?.rows, id);
    return (
      entry && {
        value: `${fixed(entry.ratio.median)}× \`health\` (${count(Math.round(entry.rps.median))} req/s)`,
        met: entry.ratio.median >= bound,
        miss: `${fixed((1 - entry.ratio.median / bound) * 100, 0)}% under`,
      }
    );
  };

export const TARGETS = [
  {
    id: "verify-uncached",
    name: "Verifier, uncached",
    goal: "≤ 1.35× the `crypto.verify` floor",
    bound: 1.35,
    measure: ({ verify }, bound) => {
      const uncached = rowOf(verify?.rows, "ours-uncached");
      const jose = rowOf(verify?.rows, "jose");
      return (
        uncached && {
          value: `${fixed(uncached.ratio.median)}× floor (${fixed(uncached.micros.median, 1)} µs; \`jose.jwtVerify\`: ${fixed(jose.micros.median, 1)} µs)`,
          met: uncached.ratio.median <= bound,
          miss: `${fixed((uncached.ratio.median / bound - 1) * 100, 0)}% over`,
        }
      );
    },
  },
  {
    id: "verify-unique",
    name: "Verifier, default options, a new token every call",
    goal: "≥ 0.85× the floor's speed (cache insertion and eviction included)",
    bound: 0.85,
    measure: ({ verify }, bound) => {
      const unique = rowOf(verify?.rows, "ours-unique");
      if (!unique) return undefined;
      const speed = 1 / unique.ratio.median;
      return {
        value: `${fixed(speed)}× the floor's speed (${fixed(unique.micros.median, 1)} µs per token)`,
        met: speed >= bound,
        miss: `${fixed((1 - speed / bound) * 100, 0)}% under`,
      };
    },
  },
  {
    id: "verify-miss-cost",
    name: "Verified-token cache, cost on a miss",
    goal: "≤ 1 µs per new token (cache on vs off, same tokens, same rounds)",
    bound: 1,
    measure: ({ verify }, bound) => {
      const cost = verify?.missCost;
      return (
        cost && {
          value: `${fixed(cost.median, 2)} µs (rounds ${fixed(cost.min, 2)} to ${fixed(cost.max, 2)})`,
          met: cost.median <= bound,
          miss: `${fixed(cost.median - bound, 2)} µs over`,
        }
      );
    },
  },
  {
    id: "verify-cached",
    name: "Verifier, cache hit",
    goal: "≤ 0.5 µs, with one entry and with the cache full",
    bound: 0.5,
    measure: ({ verify }, bound) => {
      const cached = rowOf(verify?.rows, "ours-cached");
      const full = rowOf(verify?.rows, "ours-cached-full");
      if (!cached || !full) return undefined;
      const slowest = Math.max(cached.micros.median, full.micros.median);
      return {
        value: `${fixed(cached.micros.median, 2)} µs with one entry, ${fixed(full.micros.median, 2)} µs full`,
        met: slowest <= bound,
        miss: `${fixed(slowest - bound, 2)} µs over`,
      };
    },
  },
  {
    id: "dpop-overhead",
    name: "DPoP request overhead vs Bearer",
    goal: "≤ 1.3× one ES256 verify on top of the token check",
    bound: 1.3,
    measure: ({ dpop }, bound) => {
      const overhead = dpop?.overhead;
      const bearer = rowOf(dpop?.rows, "bearer");
      const withProof = rowOf(dpop?.rows, "dpop");
      return (
        overhead &&
        bearer &&
        withProof && {
          value: `${fixed(overhead.median)}× ES256 verify (${fixed(withProof.micros.median, 1)} µs DPoP, ${fixed(bearer.micros.median, 2)} µs Bearer)`,
          met: overhead.median <= bound,
          miss: `${fixed((overhead.median / bound - 1) * 100, 0)}% over`,
        }
      );
    },
  },
  {
    id: "http-cached",
    name: "HTTP protected, cache hit",
    goal: "≥ 0.95× public",
    bound: 0.95,
    measure: httpRatio("cached"),
  },
  {
    id: "http-uncached",
    name: "HTTP protected, new token per request",
    goal: "server CPU per request ≤ public + 1.15 × the floor's verify time (≈ 0.73× public req/s)",
    bound: 1.15,
    measure: ({ http, verify }, bound) => {
      const [uncached, publicRow] = ["uncached", "public"].map((id) => rowOf(http?.rows, id));
      const floor = rowOf(verify?.rows, "floor");
      if (!uncached?.cpu || !publicRow?.cpu || !floor) return undefined;
      const extra = uncached.cpu.median - publicRow.cpu.median;
      const allowed = bound * floor.micros.median;
      return {
        value:
          `${extra < 0 ? "−" : "+"}${fixed(Math.abs(extra), 1)} µs against public (${fixed(uncached.cpu.median, 1)} vs ` +
          `${fixed(publicRow.cpu.median, 1)} µs; allowed +${fixed(allowed, 1)}); ` +
          `${fixed(uncached.ratio.median)}× public req/s`,
        met: extra <= allowed,
        miss: `${fixed(extra - allowed, 1)} µs over`,
      };
    },
  },
  {
    id: "http-fast-path",
    name: "Query fast path, protected cache hit",
    goal: "≥ 1.3× the req/s of tRPC's Node adapter alone, or the fast path is deleted",
    bound: 1.3,
    measure: ({ http }, bound) => {
      const gain = http?.fastPathGain;
      return (
        gain && {
          value: `${fixed(gain.median)}× (rounds ${fixed(gain.min)}–${fixed(gain.max)})`,
          met: gain.median >= bound,
          miss: `${fixed((1 - gain.median / bound) * 100, 0)}% under`,
        }
      );
    },
  },
  {
    id: "http-peer",
    name: "HTTP protected vs Express + Auth0 peer",
    goal: "ahead (> 1× the peer's req/s), with and without cache",
    measure: ({ http }) => {
      const [cached, uncached] = ["cached", "uncached"].map((id) => rowOf(http?.rows, id));
      return (
        cached &&
        uncached && {
          value: `${fixed(cached.vsExpress.median)}× (cache hit), ${fixed(uncached.vsExpress.median)}× (new token per request)`,
          met: cached.vsExpress.median > 1 && uncached.vsExpress.median > 1,
          miss: "behind the peer",
        }
      );
    },
  },
  {
    id: "memory-million",
    name: ({ memory }) =>
      `RSS after ${count(memory?.millionTokens?.tokens ?? 1_000_000)} distinct verified tokens`,
    goal: "within 64 MiB of the start, default cache options",
    bound: 64,
    measure: ({ memory }, bound) => {
      const run = memory?.millionTokens;
      if (!run) return undefined;
      const grewMiB = (run.rssEnd - run.rssStart) / 2 ** 20;
      return {
        value: `+${fixed(grewMiB, 1)} MiB (${fixed(run.rssStart / 2 ** 20, 0)} → ${fixed(run.rssEnd / 2 ** 20, 0)} MiB)`,
        met: grewMiB <= bound,
        miss: `${fixed(grewMiB - bound, 1)} MiB over`,
      };
    },
  },
  {
    id: "fleet-tokens",
    name: "Fleet token traffic, `redisStore`",
    goal: "1 token POST per fleet, 1 to 32 instances",
    measure: ({ fleet }) => {
      const runs = fleet?.simulated?.filter((entry) => entry.tokens);
      if (!runs?.length) return undefined;
      const worst = Math.max(...runs.map((entry) => entry.tokens.posts));
      return {
        value: runs.map((entry) => `${entry.instances}: ${entry.tokens.posts}`).join(", "),
        met: worst === 1,
        miss: `${worst} POSTs for one fleet`,
      };
    },
  },
  {
    id: "fleet-jwks",
    name: "Fleet JWKS traffic",
    goal: "1 JWKS fetch per fleet, 1 to 32 instances",
    measure: ({ fleet }) => {
      const runs = fleet?.simulated;
      if (!runs?.length) return undefined;
      const worst = Math.max(...runs.map((entry) => entry.jwksFetches));
      return {
        value: runs.map((entry) => `${entry.instances}: ${entry.jwksFetches}`).join(", "),
        met: worst === 1,
        miss: "one fetch per API process: each keeps its own key cache",
      };
    },
  },
  {
    id: "tokens-concurrent",
    name: "1 000 concurrent `getToken()`",
    goal: "1 POST",
    measure: ({ tokens }) => postsOnce(tokens?.concurrent),
  },
  {
    id: "tokens-redis",
    name: ({ tokens }) =>
      `${tokens?.redis?.processes ?? 4} processes × ${tokens?.redis?.callsPerProcess ?? 250} calls, \`redisStore\``,
    goal: "1 POST",
    measure: ({ tokens }) => postsOnce(tokens?.redis),
  },
  {
    id: "tokens-simulated",
    name: ({ tokens }) =>
      `${tokens?.simulated ? tokens.simulated.simulatedS / 60 : 10} min simulated, ${tokens?.simulated?.lifetimeS ?? 60} s tokens`,
    goal: "one POST per token lifetime, no expired token served",
    measure: ({ tokens }) => {
      const run = tokens?.simulated;
      return (
        run && {
          value: `${run.posts} POSTs for ${run.lifetimes} lifetimes; renewals every ${run.shortestRenewalS}–${run.longestRenewalS} s; ${run.expiredServed} expired token(s) served; ${run.waited} call(s) waited`,
          met:
            run.expiredServed === 0 &&
            run.waited === 1 &&
            run.shortestRenewalS >= run.lifetimeS / 2,
          miss: "renewed too early, made callers wait or served an expired token",
        }
      );
    },
  },
  {
    id: "jwks-flood",
    name: ({ jwks }) =>
      `${count(jwks?.flood?.requests ?? 10_000)} unknown-kid tokens in one cooldown`,
    goal: "1 JWKS fetch, every token 401",
    measure: ({ jwks }) => {
      const flood = jwks?.flood;
      return (
        flood && {
          value: `${flood.fetches} fetch(es); answers ${answers(flood.statuses)}`,
          met: flood.fetches === 1 && flood.statuses["401"] === flood.requests,
          miss: `${flood.fetches} fetches`,
        }
      );
    },
  },
  {
    id: "jwks-cold",
    name: ({ jwks }) => `${jwks?.coldStart?.requests ?? 100} simultaneous cold-start requests`,
    goal: "1 JWKS fetch, every token accepted",
    measure: ({ jwks }) => {
      const cold = jwks?.coldStart;
      return (
        cold && {
          value: `${cold.fetches} fetch(es), ${cold.accepted} accepted`,
          met: cold.fetches === 1 && cold.accepted === cold.requests,
          miss: `${cold.fetches} fetches`,
        }
      );
    },
  },
  {
    id: "stream-throughput",
    name: "One subscription stream",
    goal: "delivers ≥ 0.9× the rate the API accepts writes (no backlog)",
    bound: 0.9,
    measure: ({ streams }, bound) => {
      const run = streams?.throughput;
      return (
        run && {
          value: `${fixed(run.ratio)}× the write rate (${count(Math.round(run.deliveryRate))} events/s for ${count(Math.round(run.writeRate))} writes/s, ${count(run.received)} of ${count(run.created)} received)`,
          met: run.ratio >= bound && run.received === run.created,
          miss: `${fixed((1 - run.ratio / bound) * 100, 0)}% under`,
        }
      );
    },
  },
  {
    id: "stream-idle-memory",
    name: "Idle subscription streams",
    goal: "≤ 96 KiB of API heap per open idle stream (1 000 streams in < 100 MiB)",
    bound: 96 * 1024,
    measure: ({ streams }, bound) => {
      const idle = streams?.idle;
      return (
        idle && {
          value: `${fixed(idle.heapPerStream / 1024, 1)} KiB heap, ${fixed(idle.rssPerStream / 1024, 1)} KiB RSS per stream (${count(idle.streams)} streams)`,
          met: idle.heapPerStream <= bound,
          miss: `${fixed((idle.heapPerStream / bound - 1) * 100, 0)}% over`,
        }
      );
    },
  },
  {
    id: "db-postgres-create",
    name: "Postgres `items.create`",
    goal: "≥ 0.05× the same server's public `health` (a transaction per request)",
    bound: 0.05,
    measure: databaseRatio("postgres-create"),
  },
  {
    id: "db-postgres-list",
    name: "Postgres `items.list` (50 items)",
    goal: "≥ 0.1× the same server's public `health`",
    bound: 0.1,
    measure: databaseRatio("postgres-list"),
  },
  {
    id: "db-pglite-create",
    name: "PGlite `items.create`",
    goal: "≥ 0.05× the same server's public `health` (one embedded connection)",
    bound: 0.05,
    measure: databaseRatio("pglite-create"),
  },
  {
    id: "db-pglite-list",
    name: "PGlite `items.list` (50 items)",
    goal: "≥ 0.05× the same server's public `health`",
    bound: 0.05,
    measure: databaseRatio("pglite-list"),
  },
];

/** "10 000× 401, 3× 503" */
export const answers = (statuses) =>
  Object.entries(statuses)
    .map(([status, n]) => `${count(n)}× ${status}`)
    .join(", ");

/**
 * Every target with the measured value and whether it was met; `met` is undefined for a target
 * whose measurement did not run.
 */
export function evaluateTargets(results) {
  return TARGETS.map(({ id, name, goal, bound, measure }) => {
    const measured = measure(results, bound);
    return {
      id,
      name: typeof name === "function" ? name(results) : name,
      goal,
      value: measured?.value ?? "not measured",
      met: measured?.met,
      miss: measured?.miss,
    };
  });
}

/** The bound of a target with one (a ratio or a time), by id. */
export const boundOf = (id) => TARGETS.find((target) => target.id === id)?.bound;
