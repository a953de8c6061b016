/** Turns the sections' measurements into the target list and the Markdown of RESULTS.md. */

/** 10000 → "10 000", as the issue and the rest of the project write counts. */
const count = (value) => String(value).replace(/\B(?=(\d{3})+(?!\d))/g, " ");
const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const range = (s, digits = 2, unit = "") =>
  `${fixed(s.median, digits)}${unit} (${fixed(s.min, digits)}–${fixed(s.max, digits)})`;
const mib = (bytes) => (bytes === undefined ? "not measured" : `${fixed(bytes / 2 ** 20, 1)} MiB`);
const table = (head, rows) =>
  [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");

const row = (rows, id) => rows?.find((entry) => entry.id === id);

/**
 * Every target of the benchmarks issue with the measured value and whether it was met. A target
 * whose measurement could not run has `met: undefined`.
 */
export function evaluateTargets({ verify, http, tokens, jwks }) {
  const targets = [];
  const add = (id, name, goal, value, met, miss) =>
    targets.push({ id, name, goal, value, met, miss });

  const uncached = row(verify?.rows, "ours-uncached");
  const cached = row(verify?.rows, "ours-cached");
  const cachedFull = row(verify?.rows, "ours-cached-full");
  const jose = row(verify?.rows, "jose");
  add(
    "verify-uncached",
    "Verifier, uncached",
    "≤ 1.35× the `crypto.verify` floor",
    uncached
      ? `${fixed(uncached.ratio.median)}× floor (${fixed(uncached.micros.median, 1)} µs; \`jose.jwtVerify\`: ${fixed(jose.micros.median, 1)} µs)`
      : "not measured",
    uncached && uncached.ratio.median <= 1.35,
    uncached && `${fixed((uncached.ratio.median / 1.35 - 1) * 100, 0)}% over`,
  );
  add(
    "verify-cached",
    "Verifier, cache hit",
    "< 2 µs, with one entry and with the cache full",
    cached && cachedFull
      ? `${fixed(cached.micros.median, 2)} µs with one entry, ${fixed(cachedFull.micros.median, 2)} µs full`
      : "not measured",
    cached && cachedFull && Math.max(cached.micros.median, cachedFull.micros.median) < 2,
    cached &&
      cachedFull &&
      `${fixed(Math.max(cached.micros.median, cachedFull.micros.median) - 2, 2)} µs over`,
  );

  const httpRow = (id) => row(http?.rows, id);
  for (const [id, goal, bound] of [
    ["cached", "≥ 0.95× public", 0.95],
    ["uncached", "≥ 0.85× public", 0.85],
  ]) {
    const entry = httpRow(id);
    add(
      `http-${id}`,
      `HTTP protected, ${id === "cached" ? "cache hit" : "new token per request"}`,
      goal,
      entry ? `${fixed(entry.ratio.median)}× public` : "not measured",
      entry && entry.ratio.median >= bound,
      entry && `${fixed((1 - entry.ratio.median / bound) * 100, 0)}% under`,
    );
  }
  const vsPeer = ["cached", "uncached"].map(httpRow);
  add(
    "http-peer",
    "HTTP protected vs Express + Auth0 peer",
    "ahead (> 1× the peer's req/s), with and without cache",
    vsPeer.every(Boolean)
      ? `${fixed(vsPeer[0].vsExpress.median)}× (cache hit), ${fixed(vsPeer[1].vsExpress.median)}× (new token per request)`
      : "not measured",
    vsPeer.every(Boolean) ? vsPeer.every((entry) => entry.vsExpress.median > 1) : undefined,
    "behind the peer",
  );

  const { concurrent, redis, simulated } = tokens ?? {};
  add(
    "tokens-concurrent",
    "1 000 concurrent `getToken()`",
    "1 POST",
    concurrent
      ? `${concurrent.posts} POST(s), ${concurrent.distinct} distinct token(s)`
      : "not measured",
    concurrent && concurrent.posts === 1,
    concurrent && `${concurrent.posts - 1} extra POST(s)`,
  );
  add(
    "tokens-redis",
    `${redis?.processes ?? 4} processes × ${redis?.callsPerProcess ?? 250} calls, \`redisStore\``,
    "1 POST",
    redis ? `${redis.posts} POST(s), ${redis.distinct} distinct token(s)` : "not measured",
    redis && redis.posts === 1,
    redis && `${redis.posts - 1} extra POST(s)`,
  );
  add(
    "tokens-simulated",
    `${simulated ? simulated.simulatedS / 60 : 10} min simulated, ${simulated?.lifetimeS ?? 60} s tokens`,
    "one POST per token lifetime, no expired token served",
    simulated
      ? `${simulated.posts} POSTs for ${simulated.lifetimes} lifetimes; renewals every ${simulated.shortestRenewalS}–${simulated.longestRenewalS} s; ${simulated.expiredServed} expired token(s) served; ${simulated.waited} call(s) waited`
      : "not measured",
    simulated &&
      simulated.expiredServed === 0 &&
      simulated.waited === 1 &&
      simulated.shortestRenewalS >= simulated.lifetimeS / 2,
    simulated && "renewed too early, made callers wait or served an expired token",
  );

  const { flood, coldStart } = jwks ?? {};
  add(
    "jwks-flood",
    `${count(flood?.requests ?? 10_000)} unknown-kid tokens in one cooldown`,
    "1 JWKS fetch, every token 401",
    flood
      ? `${flood.fetches} fetch(es); answers ${Object.entries(flood.statuses)
          .map(([status, n]) => `${count(n)}× ${status}`)
          .join(", ")}`
      : "not measured",
    flood && flood.fetches === 1 && flood.statuses["401"] === flood.requests,
    flood && `${flood.fetches} fetches`,
  );
  add(
    "jwks-cold",
    `${coldStart?.requests ?? 100} simultaneous cold-start requests`,
    "1 JWKS fetch, every token accepted",
    coldStart ? `${coldStart.fetches} fetch(es), ${coldStart.accepted} accepted` : "not measured",
    coldStart && coldStart.fetches === 1 && coldStart.accepted === coldStart.requests,
    coldStart && `${coldStart.fetches} fetches`,
  );
  return targets;
}

const verdict = (target) =>
  target.met === undefined ? "not measured" : target.met ? "met" : `missed (${target.miss})`;

function verifySection(verify) {
  if (!verify) return "Not run.";
  const lines = [
    `mitata \`measure()\`, ${verify.rounds} rounds (implementations interleaved, order rotated each round), ` +
      `≥ ${verify.minCpuTimeMs} ms of samples per implementation per round, in one process with ` +
      "`--expose-gc`. Same RS256 token (2048-bit key, Auth0 client-credentials claims) and same key for " +
      "every implementation; each must accept the token before it is timed. The value is the median " +
      "over rounds of each round's p50 time per operation; the range is the fastest and slowest " +
      "round. Ratios are taken per round against the floor measured in the same round.",
    "",
    table(
      ["implementation", "µs/op, median (min–max)", "ops/s", "× floor, median (min–max)"],
      verify.rows.map((entry) => [
        entry.name,
        range(entry.micros, 2),
        fixed(1e6 / entry.micros.median, 0),
        range(entry.ratio, 2, "×"),
      ]),
    ),
  ];
  if (verify.missing.length)
    lines.push("", `Not measured (not built yet): ${verify.missing.join(", ")}.`);
  lines.push(
    "",
    "The floor is the RSA signature check alone (no parsing, no claims). `jose.jwtVerify` goes through " +
      "WebCrypto. `express-oauth2-jwt-bearer` does not export its JWT verifier, so its `auth()` " +
      "middleware is called directly with a minimal Express request (issuer + `jwksUri` from " +
      "127.0.0.1, keys cached after the first call); it verifies with jose 4 on `node:crypto`. " +
      "`fast-jwt` gets the PEM public key; its cache row uses `cache: 1000`.",
  );
  return lines.join("\n");
}

function httpSection(http) {
  if (!http) return "Not run.";
  return [
    `autocannon, ${http.connections} connections, ${http.durationS} s per run, ${http.rounds} rounds ` +
      "(scenarios interleaved, order rotated each round, a 1 s warm-up of each first), against servers " +
      "started as separate child processes on 127.0.0.1 with `NODE_ENV=production` and request logging " +
      "off. **The load generator and the servers share the machine's 2 cores**, so absolute numbers " +
      "are lower than on a dedicated server and the ratios are what to compare. The server's CPU " +
      "time per request (read from the server process around each run) does not depend on how the " +
      "cores were shared, so it shows where a ratio comes from. Every run must " +
      "answer 2xx only (checked), and each protected route is checked to return the token's subject " +
      "before it is loaded. Tokens come from the development issuer (`@repo/issuer`, fresh keys in a " +
      "temporary folder), which both servers find by discovery (`ISSUER_BASE_URL` / `issuerBaseURL`); " +
      `the reused token is obtained with our token client (client credentials, \`${http.subject}\`).`,
    "",
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
    "",
    http.poolSize > 10_000
      ? `"New token per request" cycles through ${count(http.poolSize)} distinct tokens signed by the issuer, more than the ` +
        "verified-token cache holds (10 000), so every request pays a full verification and an LRU " +
        "insertion and eviction. The peer has no verified-token cache: it verifies every request."
      : `Quick mode: the ${count(http.poolSize)}-token pool fits in the verified-token cache, so the ` +
        '"new token per request" row is mostly cache hits; only full runs defeat the cache.',
    ...(http.missing.length
      ? ["", `Not measured (not built yet): ${http.missing.join(", ")}.`]
      : []),
  ].join("\n");
}

function tokensSection(tokens) {
  if (!tokens) return "Not run.";
  const lines = [
    "A local token endpoint on 127.0.0.1 answers `client_credentials` POSTs and counts them.",
    "",
  ];
  const { concurrent, redis, simulated } = tokens;
  if (concurrent) {
    lines.push(
      `- ${count(concurrent.calls)} concurrent \`getToken()\` calls in one process (memory store): ` +
        `**${concurrent.posts} POST(s)**, ${concurrent.distinct} distinct token(s) handed out.`,
    );
  }
  if (redis) {
    lines.push(
      `- ${redis.processes} child processes × ${count(redis.callsPerProcess)} concurrent calls, each process with ` +
        "its own client and `redisStore` on the real Redis at 127.0.0.1:6379 (unique key prefix, " +
        `removed afterwards), released together: **${redis.posts} POST(s)**, ${redis.distinct} distinct token(s).`,
    );
  }
  if (simulated) {
    lines.push(
      `- Simulated time (clock injected with \`now\` into the client and the endpoint): one call per ` +
        `simulated second for ${simulated.simulatedS} s with ${simulated.lifetimeS} s tokens ` +
        `(${count(simulated.calls)} calls, ${simulated.lifetimes} token lifetimes): **${simulated.posts} POSTs**, ` +
        `a new token every ${simulated.shortestRenewalS}–${simulated.longestRenewalS} s, ` +
        `**${simulated.expiredServed} expired token(s) served**, ${simulated.waited} call(s) waited for a ` +
        "token (only the first should: later renewals happen in the background ahead of expiry). " +
        "Renewing ahead of expiry costs one POST per lifetime minus the refresh margin.",
    );
  }
  if (tokens.redisDown) {
    lines.push(
      `- Several processes with \`redisStore\`: not measured, no Redis answered at ${tokens.redisDown} ` +
        "(`pnpm test` starts one; so does `redis-server --port 6379`).",
    );
  }
  if (tokens.missing.length)
    lines.push(`- Not measured (not built yet): ${tokens.missing.join(", ")}.`);
  return lines.join("\n");
}

function jwksSection(jwks) {
  if (!jwks) return "Not run.";
  const lines = ["A local JWKS endpoint on 127.0.0.1 counts the key-set requests it serves.", ""];
  const { flood, coldStart } = jwks;
  if (flood) {
    lines.push(
      `- ${count(flood.requests)} tokens naming random unknown \`kid\`s (a valid token's claims and signature under a forged header), sent in ` +
        "batches of 500 concurrent calls once the cooldown after loading the keys had passed (the " +
        "verifier's clock is injected and moved 31 s on; the keys are still fresh), within one 30 s " +
        `cooldown (${fixed(flood.elapsedMs / 1000, 1)} s of real time): **${flood.fetches} JWKS fetch(es)**` +
        `${flood.fetchTriggers.length ? ` (triggers: ${flood.fetchTriggers.join(", ")})` : ""}; answers: ` +
        `${Object.entries(flood.statuses)
          .map(([status, n]) => `${count(n)}× ${status}`)
          .join(", ")}.`,
    );
  }
  if (coldStart) {
    lines.push(
      `- ${count(coldStart.requests)} simultaneous requests on a verifier that has not loaded its keys: ` +
        `**${coldStart.fetches} JWKS fetch(es)**, ${coldStart.accepted} accepted.`,
    );
  }
  if (jwks.missing.length)
    lines.push(`- Not measured (not built yet): ${jwks.missing.join(", ")}.`);
  return lines.join("\n");
}

function memorySection(memory, http) {
  const lines = [];
  if (http?.memory) {
    const { idle, after } = http.memory;
    const cells = (usage) => [mib(usage?.rss), mib(usage?.heapAfterGc)];
    lines.push(
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
      "",
      "RSS is read before a full collection is forced and the heap figure after it, so RSS growth " +
        "with a flat heap is allocator slack, not retained objects.",
      "",
    );
  }
  const cache = memory?.tokenCache;
  if (cache) {
    lines.push(
      `Verified-token cache filled to its bound (${count(cache.entries)} distinct ${cache.tokenLength}-character ` +
        `tokens), heap after a full GC: ${mib(cache.heapEmpty)} with one entry, ${mib(cache.heapFull)} at ` +
        `the bound (≈ ${fixed(cache.bytesPerEntry, 0)} bytes per entry), ${mib(cache.heapAfterTwice)} after ` +
        `as many new tokens again (the bound holds).`,
    );
  }
  if (memory?.missing.length)
    lines.push(`Not measured (not built yet): ${memory.missing.join(", ")}.`);
  return lines.join("\n") || "Not run.";
}

/**
 * Why each missed target was missed, from the measurements themselves: whether the rounds' range
 * reaches the target (noise) and what verification alone would predict for the HTTP ratios.
 */
function missNotes(results, targets) {
  const notes = [];
  const missed = (id) => targets.find((target) => target.id === id)?.met === false;
  const verifyRow = (id) => row(results.verify?.rows, id);
  const httpRow = (id) => row(results.http?.rows, id);
  const spread = (s, bound, above) =>
    (above ? s.max >= bound : s.min <= bound)
      ? `the best round reached ${fixed(above ? s.max : s.min)}×, so the miss is within this machine's round-to-round noise`
      : "no round reached it";

  const uncached = verifyRow("ours-uncached");
  const floor = verifyRow("floor");
  if (missed("verify-uncached") && uncached) {
    notes.push(
      `Verifier, uncached: ${fixed(uncached.ratio.median)}× the floor against 1.35× ` +
        `(${fixed(uncached.micros.median - floor.micros.median, 1)} µs per token beyond the RSA check: ` +
        `parsing, header and claim checks, key lookup); ${spread(uncached.ratio, 1.35, false)}.`,
    );
  }
  const cached = verifyRow("ours-cached");
  const cachedFull = verifyRow("ours-cached-full");
  if (missed("verify-cached") && cached && cachedFull) {
    notes.push(
      `Verifier, cache hit: ${fixed(cached.micros.median)} µs with one entry, ` +
        `${fixed(cachedFull.micros.median)} µs with the cache full, against 2 µs. ` +
        (cachedFull.micros.median > 4 * cached.micros.median
          ? "The hit itself gets slower as the cache fills: the LRU keeps its order by deleting a hit " +
            "from its `Map` and setting it again, and in a `Map` of 10 000 entries, deleting and " +
            "re-setting the same key over and over costs about 11 µs per round on this machine " +
            "(about 0.13 µs with one entry): V8 only clears deleted entries out of a `Map` when it " +
            "rehashes the table, and lookups of a key set again and again slow down until then. A " +
            "hit that does not move the entry " +
            "(a recency mark, or moving it only when it has aged) would avoid it."
          : `(ranges ${fixed(cached.micros.min)}–${fixed(cached.micros.max)} and ` +
            `${fixed(cachedFull.micros.min)}–${fixed(cachedFull.micros.max)} µs).`),
    );
  }
  const publicRow = httpRow("public");
  // Rounds are interleaved, so after the first one the API's cache is full (section 1's full row).
  for (const [id, bound, perToken] of [
    ["cached", 0.95, cachedFull ?? cached],
    ["uncached", 0.85, uncached],
  ]) {
    const entry = httpRow(id);
    if (!entry?.cpu || !publicRow?.cpu || !missed(`http-${id}`)) continue;
    const extra = entry.cpu.median - publicRow.cpu.median;
    const verification = perToken ? perToken.micros.median : Number.NaN;
    notes.push(
      `HTTP ${id === "cached" ? "cache hit" : "new token per request"}: ${fixed(entry.ratio.median)}× public ` +
        `against ${bound}×; ${spread(entry.ratio, bound, true)}. The API process spends ` +
        `${fixed(entry.cpu.median, 1)} µs of CPU per request here against ${fixed(publicRow.cpu.median, 1)} µs ` +
        `for the public procedure (+${fixed(extra, 1)} µs)` +
        (Number.isNaN(verification)
          ? "."
          : `; verification accounts for ${fixed(verification, 2)} µs of it (section 1), `) +
        (Number.isNaN(verification)
          ? ""
          : extra - verification > extra / 2
            ? `so about ${fixed(extra - verification, 1)} µs per request go to the handling around ` +
              "verification (reading the header, the verified-token cache's bookkeeping, tRPC " +
              "middleware, building the larger `whoami` answer)."
            : "so the gap is the cost of verification itself."),
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
        ? `Against the Express + Auth0 peer: the API's public tRPC procedure, which verifies nothing, ` +
            `already serves only ${fixed(publicRow.vsExpress.median)}× the peer's protected route${plainNote}. ` +
            "So tRPC's HTTP handling, not token verification, sets the API's ceiling (a CPU profile of " +
            "the API under this load shows the fetch-style `Request`/`Response` objects, abort signals " +
            "and the streamed response body of the tRPC Node adapter, and the garbage they create)."
        : `Against the Express + Auth0 peer: the public procedure serves ${fixed(publicRow.vsExpress.median)}× ` +
            "the peer, so the protected procedures lose their lead in verification and protected-procedure " +
            `handling${plainNote}.`,
    );
  }
  for (const target of targets) {
    if (/^(tokens|jwks)-/.test(target.id) && target.met === false) {
      notes.push(`${target.name}: ${target.value} (target: ${target.goal}).`);
    }
  }
  return notes.length
    ? notes.map((note) => `- ${note}`).join("\n")
    : "Every measured target was met.";
}

export function renderResults({ results, targets, environment, startedAt, elapsedS, loadAtEnd }) {
  const { machine, versions } = environment;
  return [
    "# Benchmark results",
    "",
    `Written by \`pnpm bench\` on ${startedAt.toISOString().replace("T", " ").slice(0, 16)} UTC ` +
      `(commit ${machine.commit}); the run took ${fixed(elapsedS, 0)} s.`,
    "",
    "## Machine",
    "",
    `- CPU: ${machine.cpu}; memory ${machine.memoryGiB} GiB; ${machine.os}.`,
    `- Load average (1/5/15 min): ${machine.loadAverage.map((load) => fixed(load)).join(" / ")} at the start, ` +
      `${loadAtEnd.map((load) => fixed(load)).join(" / ")} at the end (2 cores: above 2, other work competed). ` +
      "The machine is shared and noisy: compare ratios, medians and ranges, not single numbers.",
    "- HTTP runs: servers and load generator are separate processes sharing the same 2 cores.",
    "",
    "## Versions",
    "",
    table(
      ["component", "version"],
      versions.map(([name, version]) => [name, version]),
    ),
    "",
    "## How to rerun",
    "",
    "```sh",
    "pnpm bench           # builds every workspace, runs everything (< 10 min), rewrites bench/RESULTS.md",
    "pnpm bench --quick   # smoke run in seconds (what CI runs); prints results, never writes this file",
    "```",
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
  ].join("\n");
}
