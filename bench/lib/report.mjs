/**
 * Renders the sections' measurements and the evaluated targets as the Markdown of RESULTS.md. What
 * the numbers mean and how they are taken is in bench/README.md, which the sections link to.
 */
import { count, fixed, mib, range, table } from "./markdown.mjs";
import { answers, boundOf, rowOf } from "./targets.mjs";

/** A link from RESULTS.md to a part of bench/README.md. */
const readme = (anchor, text = "method") => `[${text}](README.md#${anchor})`;

const verdict = (target) =>
  target.met === undefined ? "not measured" : target.met ? "met" : `missed (${target.miss})`;

const notBuilt = (missing) =>
  missing.length ? [`Not measured (not built yet): ${missing.join(", ")}.`] : [];

const paragraphs = (...blocks) => blocks.filter((block) => block !== "").join("\n\n");

function verifySection(verify) {
  if (!verify) return "Not run.";
  return paragraphs(
    `mitata \`measure()\`, ${verify.rounds} rounds, ≥ ${verify.minCpuTimeMs} ms of samples per ` +
      `implementation per round (${readme("verify")}).`,
    `The "new token every call" rows cycle through ${count(verify.uniquePool ?? 0)} distinct ` +
      "tokens, more than the verified-token cache holds, so every call misses, inserts and evicts." +
      (verify.missCost
        ? ` The cache adds ${range(verify.missCost, 2)} µs to such a miss (per round, cache on ` +
          "minus cache off)."
        : ""),
    table(
      ["implementation", "µs/op, median (min–max)", "ops/s", "× floor, median (min–max)"],
      verify.rows.map((entry) => [
        entry.name,
        range(entry.micros, 2),
        fixed(1e6 / entry.micros.median, 0),
        range(entry.ratio, 2, "×"),
      ]),
    ),
    ...notBuilt(verify.missing),
  );
}

function dpopSection(dpop) {
  if (!dpop) return "Not run.";
  return paragraphs(
    `mitata \`measure()\`, ${dpop.rounds} rounds, ≥ ${dpop.minCpuTimeMs} ms of samples per ` +
      `case per round; every DPoP request spends a new proof in the memory replay store (${readme("dpop")}).`,
    table(
      ["case", "µs/op, median (min–max)", "× ES256 verify, median (min–max)"],
      dpop.rows.map((entry) => [entry.name, range(entry.micros, 2), range(entry.ratio, 2, "×")]),
    ),
    dpop.overhead
      ? `DPoP minus Bearer, per round, in ES256 verifies: ${range(dpop.overhead, 2, "×")}.`
      : "",
    ...notBuilt(dpop.missing),
  );
}

function httpSection(http) {
  if (!http) return "Not run.";
  return paragraphs(
    `autocannon, ${http.connections} connections, ${http.durationS} s per run, ${http.rounds} rounds; ` +
      `the reused token is \`${http.subject}\`'s (${readme("http")}).`,
    table(
      [
        "scenario",
        "req/s, median (min–max)",
        "p50 ms",
        "p99 ms",
        "× public",
        "× Express peer",
        "server CPU µs/request",
      ],
      http.rows.map((entry) => [
        entry.name,
        range(entry.rps, 0),
        fixed(entry.p50.median, 1),
        fixed(entry.p99.median, 1),
        range(entry.ratio, 2, "×"),
        fixed(entry.vsExpress.median, 2),
        range(entry.cpu, 1),
      ]),
    ),
    http.fastPathGain
      ? `The query fast path serves the protected cache hit at ${range(http.fastPathGain, 2, "×")} ` +
          "the req/s of the same API with it off (tRPC's Node adapter alone), per round."
      : "",
    http.poolSize > 10_000
      ? `"New token per request" cycles through ${count(http.poolSize)} distinct tokens, more than ` +
          "the verified-token cache holds (10 000): every request pays a full verification."
      : `Quick mode: the ${count(http.poolSize)}-token pool fits in the verified-token cache, so the ` +
          '"new token per request" row is mostly cache hits; only full runs defeat the cache.',
    ...notBuilt(http.missing),
  );
}

function tokensSection(tokens) {
  if (!tokens) return "Not run.";
  const { concurrent, redis, simulated } = tokens;
  const lines = [];
  if (concurrent) {
    lines.push(
      `${count(concurrent.calls)} concurrent \`getToken()\` calls in one process (memory store): ` +
        `**${concurrent.posts} POST(s)**, ${concurrent.distinct} distinct token(s).`,
    );
  }
  if (redis) {
    lines.push(
      `${redis.processes} processes × ${count(redis.callsPerProcess)} concurrent calls, each process ` +
        "with its own client and `redisStore` on 127.0.0.1:6379: " +
        `**${redis.posts} POST(s)**, ${redis.distinct} distinct token(s).`,
    );
  }
  if (simulated) {
    lines.push(
      `One call per simulated second for ${simulated.simulatedS} s with ${simulated.lifetimeS} s ` +
        `tokens (${count(simulated.calls)} calls, ${simulated.lifetimes} token lifetimes): ` +
        `**${simulated.posts} POSTs**, a new token every ${simulated.shortestRenewalS}–` +
        `${simulated.longestRenewalS} s, **${simulated.expiredServed} expired token(s) served**, ` +
        `${simulated.waited} call(s) waited for a token.`,
    );
  }
  if (tokens.redisDown) {
    lines.push(
      `Several processes with \`redisStore\`: not measured, no Redis answered at ${tokens.redisDown}.`,
    );
  }
  lines.push(...notBuilt(tokens.missing));
  return paragraphs(
    `Counted by a local token endpoint on 127.0.0.1 (${readme("tokens")}).`,
    lines.map((line) => `- ${line}`).join("\n"),
  );
}

function jwksSection(jwks) {
  if (!jwks) return "Not run.";
  const { flood, coldStart } = jwks;
  const lines = [];
  if (flood) {
    const triggers = flood.fetchTriggers.length
      ? ` (triggers: ${flood.fetchTriggers.join(", ")})`
      : "";
    lines.push(
      `${count(flood.requests)} tokens naming unknown \`kid\`s within one 30 s cooldown ` +
        `(${fixed(flood.elapsedMs / 1000, 1)} s of real time): **${flood.fetches} JWKS fetch(es)**` +
        `${triggers}; answers: ${answers(flood.statuses)}.`,
    );
  }
  if (coldStart) {
    lines.push(
      `${count(coldStart.requests)} simultaneous requests on a verifier that has not loaded its keys: ` +
        `**${coldStart.fetches} JWKS fetch(es)**, ${coldStart.accepted} accepted.`,
    );
  }
  lines.push(...notBuilt(jwks.missing));
  return paragraphs(
    `Counted by a local JWKS endpoint on 127.0.0.1 (${readme("jwks")}).`,
    lines.map((line) => `- ${line}`).join("\n"),
  );
}

function memorySection(memory, http) {
  const blocks = [];
  if (http?.memory) {
    const { idle, after } = http.memory;
    const cells = (usage) => [mib(usage?.rss), mib(usage?.heapAfterGc)];
    blocks.push(
      table(
        [
          "process",
          "RSS idle (keys loaded)",
          "heap after GC, idle",
          "RSS after the HTTP runs",
          "heap after GC, after the runs",
        ],
        [
          ["API (`@repo/api`)", ...cells(idle.api), ...cells(after.api)],
          ["Express + Auth0 peer", ...cells(idle.peer), ...cells(after.peer)],
        ],
      ),
    );
  }
  const million = memory?.millionTokens;
  if (million) {
    blocks.push(
      `${count(million.tokens)} distinct ES256 tokens (${million.tokenLength} characters each, ` +
        `signed by a separate process) verified one after another by one verifier with default ` +
        `options (${count(10_000)} entries, 32 MiB byte budget) in ${fixed(million.elapsedS, 0)} s: ` +
        `RSS ${mib(million.rssFirst)} after the first token, ${mib(million.rssStart)} after the ` +
        `first ${count(million.firstBatch)} (the start), ${mib(million.rssFull)} after 20 000 ` +
        `(the cache filled and turned over once), ${mib(million.rssEnd)} at the end; heap ` +
        `after a full GC ${mib(million.heapStart)} at the start, ${mib(million.heapEnd)} at the end.`,
    );
  }
  const cache = memory?.tokenCache;
  if (cache) {
    blocks.push(
      `Verified-token cache filled to its bound (${count(cache.entries)} distinct ` +
        `${cache.tokenLength}-character tokens), heap after a full GC: ${mib(cache.heapEmpty)} with ` +
        `one entry, ${mib(cache.heapFull)} at the bound (≈ ${fixed(cache.bytesPerEntry, 0)} bytes ` +
        `per entry), ${mib(cache.heapAfterTwice)} after as many new tokens again.`,
    );
  }
  if (memory) blocks.push(...notBuilt(memory.missing));
  if (blocks.length === 0) return "Not run.";
  return paragraphs(
    `\`process.memoryUsage()\` around forced collections (${readme("memory")}).`,
    ...blocks,
  );
}

function streamsSection(streams) {
  if (!streams) return "Not run.";
  const { throughput: run, idle } = streams;
  return paragraphs(
    `One API process, the development issuer's tokens (${readme("streams")}).`,
    table(
      ["measure", "value"],
      [
        [
          "items created (8 writers)",
          `${count(run.created)} at ${count(Math.round(run.writeRate))}/s`,
        ],
        [
          "changes received on one stream",
          `${count(run.received)} at ${count(Math.round(run.deliveryRate))}/s`,
        ],
        ["delivery ÷ write rate", `${fixed(run.ratio)}×`],
        [
          `API heap after GC, idle → ${count(idle.streams)} open streams`,
          `${mib(idle.before.heapAfterGc)} → ${mib(idle.open.heapAfterGc)}`,
        ],
        [
          `API RSS, idle → ${count(idle.streams)} open streams`,
          `${mib(idle.before.rss)} → ${mib(idle.open.rss)}`,
        ],
        [
          "per stream",
          `${fixed(idle.heapPerStream / 1024, 1)} KiB heap, ${fixed(idle.rssPerStream / 1024, 1)} KiB RSS`,
        ],
      ],
    ),
  );
}

function fleetSection(fleet) {
  if (!fleet) return "Not run.";
  return paragraphs(
    `API processes behind one port (node:cluster), the protected \`whoami\` with one token ` +
      `(cache hit), autocannon, ${fleet.connections} connections, ${fleet.durationS} s per run, ` +
      `${fleet.rounds} rounds (${readme("fleet")}). Per core: what one fully used core serves at ` +
      "the fleet's CPU cost per request (1 000 000 / µs per request), which does not depend on how " +
      "this shared machine's 2 cores were split between the fleet, the load generator and other work.",
    table(
      [
        "API processes",
        "req/s, median (min–max)",
        "server CPU µs/request (all processes)",
        "req/s per core",
        "JWKS fetches",
      ],
      fleet.measured.map((entry) => [
        String(entry.processes),
        range(entry.rps, 0),
        range(entry.cpu, 1),
        fixed(entry.perCore, 0),
        String(entry.jwksFetches),
      ]),
    ),
    "Larger fleets, by simulation: req/s projected as instances × the lower per-core figure above " +
      "(one core per instance, a load balancer in front); JWKS fetches and token POSTs measured " +
      "with one verifier and one token client per instance, all started at once, the clients " +
      "sharing one `redisStore` on 127.0.0.1:6379.",
    table(
      ["instances", "projected req/s", "JWKS fetches", "token POSTs (`redisStore`)"],
      fleet.simulated.map((entry) => [
        String(entry.instances),
        fixed(entry.projectedRps, 0),
        String(entry.jwksFetches),
        entry.tokens ? String(entry.tokens.posts) : "not measured (no Redis)",
      ]),
    ),
  );
}

function databaseSection(database) {
  if (!database) return "Not run.";
  return paragraphs(
    `autocannon, ${database.connections} connections, ${database.durationS} s per run, ` +
      `${database.rounds} rounds, one API process per backend; \`items.list\` reads a page of 50 ` +
      `(${readme("database")}).`,
    table(
      ["scenario", "req/s, median (min–max)", "p50 ms", "p99 ms", "× the same server's `health`"],
      database.rows.map((entry) => [
        entry.name,
        range(entry.rps, 0),
        fixed(entry.p50.median, 1),
        fixed(entry.p99.median, 1),
        range(entry.ratio, 2, "×"),
      ]),
    ),
    ...(database.missing.length ? [`Not measured: ${database.missing.join(", ")}.`] : []),
  );
}

function runtimesSection(runtimes) {
  if (!runtimes) return "Not run.";
  return paragraphs(
    `\`@repo/auth\` bundled for each runtime as that runtime resolves it (its export conditions ` +
      `pick the build), ${runtimes.rounds} rounds of ${count(runtimes.iterations)} calls per ` +
      `operation; the floor is the runtime's own WebCrypto RS256 check on a prepared key ` +
      `(${readme("runtimes")}).`,
    table(
      [
        "runtime",
        "version",
        "build",
        "floor µs, median (min–max)",
        "ours uncached µs",
        "× floor",
        "ours cache hit µs",
      ],
      runtimes.rows.map((entry) => [
        entry.runtime,
        entry.version,
        entry.build,
        range(entry.floor, 1),
        range(entry.uncached, 1),
        range(entry.ratio, 2, "×"),
        fixed(entry.cached.median, 2),
      ]),
    ),
  );
}

/**
 * Why each missed target was missed, from the measurements themselves: whether the rounds' range
 * reaches the target (noise) and what verification alone predicts for the HTTP ratios.
 */
function missNotes(results, targets) {
  const notes = [];
  const missed = (id) => targets.find((target) => target.id === id)?.met === false;
  const verifyRow = (id) => rowOf(results.verify?.rows, id);
  const httpRow = (id) => rowOf(results.http?.rows, id);
  const spread = (s, bound, above) =>
    (above ? s.max >= bound : s.min <= bound)
      ? `the best round reached ${fixed(above ? s.max : s.min)}×, so the miss is within this machine's round-to-round noise`
      : "no round reached it";

  const uncached = verifyRow("ours-uncached");
  const floor = verifyRow("floor");
  if (missed("verify-uncached") && uncached) {
    const bound = boundOf("verify-uncached");
    notes.push(
      `Verifier, uncached: ${fixed(uncached.ratio.median)}× the floor against ${bound}× ` +
        `(${fixed(uncached.micros.median - floor.micros.median, 1)} µs per token beyond the RSA check: ` +
        `parsing, header and claim checks, key lookup); ${spread(uncached.ratio, bound, false)}.`,
    );
  }
  const cached = verifyRow("ours-cached");
  const cachedFull = verifyRow("ours-cached-full");
  if (missed("verify-cached") && cached && cachedFull) {
    notes.push(
      `Verifier, cache hit: ${fixed(cached.micros.median)} µs with one entry, ` +
        `${fixed(cachedFull.micros.median)} µs with the cache full, against ${boundOf("verify-cached")} µs` +
        (cachedFull.micros.median > 4 * cached.micros.median
          ? `: the hit itself gets slower as the cache fills (${readme("a-cache-hit-that-slows-as-the-cache-fills", "why")}).`
          : ` (ranges ${fixed(cached.micros.min)}–${fixed(cached.micros.max)} and ` +
            `${fixed(cachedFull.micros.min)}–${fixed(cachedFull.micros.max)} µs).`),
    );
  }
  const publicRow = httpRow("public");
  // Rounds are interleaved, so after the first one the API's cache is full (section 1's full row).
  const uniqueRow = verifyRow("ours-unique");
  const uncachedHttp = httpRow("uncached");
  if (missed("http-uncached") && uncachedHttp?.cpu && publicRow?.cpu && floor) {
    const extra = uncachedHttp.cpu.median - publicRow.cpu.median;
    const verification = (uniqueRow ?? uncached).micros.median;
    notes.push(
      `HTTP new token per request: the API process spends ${fixed(uncachedHttp.cpu.median, 1)} µs ` +
        `of CPU per request against ${fixed(publicRow.cpu.median, 1)} µs for the public procedure ` +
        `(+${fixed(extra, 1)} µs, allowed +${fixed(boundOf("http-uncached") * floor.micros.median, 1)}); ` +
        `verifying a new token costs ${fixed(verification, 1)} µs in section 1, so about ` +
        `${fixed(extra - verification, 1)} µs go to the rest: garbage collection of the parsed ` +
        "token and the cache's churn, and the larger answer " +
        `(${readme("where-the-time-goes", "profile")}). Server CPU ranges: ` +
        `${fixed(uncachedHttp.cpu.min, 1)}–${fixed(uncachedHttp.cpu.max, 1)} µs (new token), ` +
        `${fixed(publicRow.cpu.min, 1)}–${fixed(publicRow.cpu.max, 1)} µs (public).`,
    );
  }
  const unique = verifyRow("ours-unique");
  if (missed("verify-unique") && unique && floor) {
    notes.push(
      `Verifier, a new token every call: ${fixed(1 / unique.ratio.median)}× the floor's speed ` +
        `against ${boundOf("verify-unique")}×; ${fixed(unique.micros.median - floor.micros.median, 1)} µs ` +
        "per token beyond the RSA check (parsing: the compact-JWS scan, base64url and JSON; claims; " +
        `the cache; the promise), ${readme("where-the-time-goes", "profile")}; ` +
        `${spread({ min: 1 / unique.ratio.max, max: 1 / unique.ratio.min }, boundOf("verify-unique"), true)}.`,
    );
  }
  for (const [id, perToken] of [["cached", cachedFull ?? cached]]) {
    const entry = httpRow(id);
    if (!entry?.cpu || !publicRow?.cpu || !missed(`http-${id}`)) continue;
    const bound = boundOf(`http-${id}`);
    const extra = entry.cpu.median - publicRow.cpu.median;
    const verification = perToken ? perToken.micros.median : Number.NaN;
    const where = Number.isNaN(verification)
      ? "."
      : `; verification accounts for ${fixed(verification, 2)} µs of it (section 1), ` +
        (extra - verification > extra / 2
          ? `so about ${fixed(extra - verification, 1)} µs per request go to the handling around ` +
            `verification (${readme("the-work-around-verification", "what that is")}).`
          : "so the gap is the cost of verification itself.");
    notes.push(
      `HTTP ${id === "cached" ? "cache hit" : "new token per request"}: ${fixed(entry.ratio.median)}× public ` +
        `against ${bound}×; ${spread(entry.ratio, bound, true)}. The API process spends ` +
        `${fixed(entry.cpu.median, 1)} µs of CPU per request here against ${fixed(publicRow.cpu.median, 1)} µs ` +
        `for the public procedure (+${fixed(extra, 1)} µs)${where}`,
    );
  }
  const peer = httpRow("express");
  const plain = httpRow("plain");
  if (missed("http-peer") && peer && publicRow) {
    const plainNote = plain
      ? `; a plain Node route on the same API server serves ${fixed(plain.vsExpress.median)}× the peer`
      : "";
    notes.push(
      publicRow.vsExpress.median < 1
        ? "Against the Express + Auth0 peer: the API's public tRPC procedure, which verifies nothing, " +
            `already serves only ${fixed(publicRow.vsExpress.median)}× the peer's protected route${plainNote}: ` +
            `tRPC's HTTP handling, not token verification, sets the API's ceiling (${readme("the-trpc-ceiling", "why")}).`
        : `Against the Express + Auth0 peer: the public procedure serves ${fixed(publicRow.vsExpress.median)}× ` +
            "the peer, so the protected procedures lose their lead in verification and protected-procedure " +
            `handling${plainNote}.`,
    );
  }
  for (const target of targets) {
    if (
      /^(tokens|jwks|memory|fleet|verify-miss|http-fast)/.test(target.id) &&
      target.met === false
    ) {
      notes.push(`${target.name}: ${target.value} (target: ${target.goal}).`);
    }
  }
  return notes.length
    ? notes.map((note) => `- ${note}`).join("\n")
    : "Every measured target was met.";
}

export function renderResults({ results, targets, environment, startedAt, elapsedS, loadAtEnd }) {
  const { machine, versions } = environment;
  const loads = (values) => values.map((load) => fixed(load)).join(" / ");
  return [
    "# Benchmark results",
    "",
    `Written by \`pnpm bench\` on ${startedAt.toISOString().replace("T", " ").slice(0, 16)} UTC ` +
      `(commit ${machine.commit}); the run took ${fixed(elapsedS, 0)} s. How each number is taken, ` +
      `how to rerun and how to read a miss: [README.md](README.md).`,
    "",
    "## Machine",
    "",
    `- CPU: ${machine.cpu}; memory ${machine.memoryGiB} GiB; ${machine.os}.`,
    `- Load average (1/5/15 min): ${loads(machine.loadAverage)} at the start, ${loads(loadAtEnd)} ` +
      "at the end (2 cores: above 2, other work competed).",
    ...(Math.max(machine.loadAverage[0], loadAtEnd[0]) > 2
      ? [
          "- **The machine was loaded during this run**: other work shared its cores, so absolute " +
            "times and req/s are inflated and noisy. The targets are decided on ratios measured " +
            "side by side in the same rounds (and on CPU time per request), which load affects far " +
            "less; read the min–max ranges before a single number.",
        ]
      : []),
    "",
    "## Versions",
    "",
    table(
      ["component", "version"],
      versions.map(([name, version]) => [name, version]),
    ),
    "",
    "## Targets",
    "",
    table(
      ["what", "target", "measured", "verdict"],
      targets.map((target) => [target.name, target.goal, target.value, verdict(target)]),
    ),
    "",
    "## Why targets were missed",
    "",
    missNotes(results, targets),
    "",
    "## 1. Verification per operation",
    "",
    verifySection(results.verify),
    "",
    "## 1b. DPoP proof per request",
    "",
    dpopSection(results.dpop),
    "",
    "## 2. HTTP",
    "",
    httpSection(results.http),
    "",
    "## 3. Token traffic",
    "",
    tokensSection(results.tokens),
    "",
    "## 4. JWKS traffic",
    "",
    jwksSection(results.jwks),
    "",
    "## 5. Memory",
    "",
    memorySection(results.memory, results.http),
    "",
    "## 6. Fleet",
    "",
    fleetSection(results.fleet),
    "",
    "## 7. Runtimes",
    "",
    runtimesSection(results.runtimes),
    "",
    "## 8. Subscription streams",
    "",
    streamsSection(results.streams),
    "",
    "## 9. Database",
    "",
    databaseSection(results.database),
    "",
  ].join("\n");
}
