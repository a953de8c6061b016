// `pnpm bench` (after the root script has built every workspace): runs each benchmark section in
// its own process, prints the results and, in full mode, writes bench/RESULTS.md.
// `pnpm bench --quick` is the smoke mode CI runs: a few seconds, same code paths, nothing written.
// `--only=verify,http` runs some sections and writes nothing either.
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { startChild } from "./lib/child.mjs";
import { machine, packageVersions } from "./lib/environment.mjs";
import { only, quick } from "./lib/options.mjs";
import { renderResults } from "./lib/report.mjs";
import { evaluateTargets } from "./lib/targets.mjs";

const SECTIONS = [
  "verify",
  "dpop",
  "jwks",
  "tokens",
  "memory",
  "http",
  "streams",
  "fleet",
  "runtimes",
  "database",
];

const USAGE = `usage: pnpm bench [--quick] [--only=${SECTIONS.join(",")}]
  (no option)  every section, then bench/RESULTS.md is rewritten (a few minutes)
  --quick      smoke run in seconds; prints results, writes nothing
  --only=a,b   some sections; prints results, writes nothing`;
const switches = process.argv.slice(2);
if (switches.some((arg) => arg === "--help" || arg === "-h")) {
  console.log(USAGE);
  process.exit(0);
}
// A mistyped switch must not start a full run that rewrites RESULTS.md.
const unknownSwitches = switches.filter((arg) => arg !== "--quick" && !arg.startsWith("--only="));
if (unknownSwitches.length) {
  console.error(`unknown option(s) ${unknownSwitches.join(" ")}\n${USAGE}`);
  process.exit(2);
}
const unknown = only?.filter((name) => !SECTIONS.includes(name)) ?? [];
if (unknown.length) throw new Error(`unknown section(s) ${unknown.join(", ")}; use ${SECTIONS}`);

async function runSection(name) {
  const started = performance.now();
  const child = startChild(fileURLToPath(new URL(`./sections/${name}.mjs`, import.meta.url)), {
    args: quick ? ["--quick"] : [],
    execArgv: ["--expose-gc"],
  });
  try {
    const { data } = await child.receive("result");
    return data;
  } finally {
    await child.stop();
    console.log(`bench: ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

const startedAt = new Date();
const environment = { machine: machine(), versions: packageVersions() };
const results = {};
for (const name of only ?? SECTIONS) results[name] = await runSection(name);
const elapsedS = (Date.now() - startedAt.getTime()) / 1000;

const targets = evaluateTargets(results);
const markdown = renderResults({
  results,
  targets,
  environment,
  startedAt,
  elapsedS,
  loadAtEnd: loadavg(),
});
console.log(`\n${markdown}`);
if (quick || only) {
  console.log("bench: quick or partial run, bench/RESULTS.md left untouched");
} else {
  writeFileSync(new URL("./RESULTS.md", import.meta.url), markdown);
  console.log("bench: wrote bench/RESULTS.md");
}
