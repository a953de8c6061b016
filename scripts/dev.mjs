// `pnpm dev`: runs the dev issuer, the API and the web app together with development defaults.
//
// Order: build @repo/auth (Next reads its dist/), then the issuer, the API and the web app, each
// started once the one before answers. Every child runs in its own process group, so stopping one
// stops everything it spawned (tsx watch, Next's workers) and nothing outlives `pnpm dev`.
//
// Ports come from ISSUER_PORT, API_PORT and WEB_PORT (defaults 4400, 4000, 3000); the URLs the apps
// use to reach each other follow them unless ISSUER_BASE_URL or API_URL are set.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, resolve } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { Worker } from "node:worker_threads";
import { formatLogLine } from "./format-log-line.mjs";

const root = resolve(import.meta.dirname, "..");
const startedAt = performance.now();

const useColor =
  process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== "0"
    ? true
    : Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined;
const paint = (code, text) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = (text) => paint("1", text);
const dim = (text) => paint("2", text);
const red = (text) => paint("31", text);

// Output never holds up or stops `pnpm dev`: a reader that went away (EPIPE: a closed terminal, a
// pipe into `head`) or one that stopped reading (a full pipe) only costs lines. Pipes are written
// asynchronously; past this backlog new lines are dropped. The children's output is still read
// either way, so they never block on theirs.
const MAX_OUTPUT_BACKLOG = 1024 * 1024;
const failedOutputs = new Set();
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", () => failedOutputs.add(stream));
}

function print(text, stream = process.stdout) {
  if (failedOutputs.has(stream) || stream.writableLength > MAX_OUTPUT_BACKLOG) return;
  stream.write(`${text}\n`);
}
const printError = (text) => print(text, process.stderr);

function readPort(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    printError(red(`${name} must be a port number between 1 and 65535 (got "${raw}")`));
    process.exit(1);
  }
  return port;
}

const ports = {
  issuer: readPort("ISSUER_PORT", 4400),
  api: readPort("API_PORT", 4000),
  web: readPort("WEB_PORT", 3000),
};
const readyTimeoutMs = Number(process.env.DEV_READY_TIMEOUT_MS ?? 180_000);

const localIssuerUrl = `http://127.0.0.1:${ports.issuer}/`;
const issuerUrl = process.env.ISSUER_BASE_URL ?? localIssuerUrl;
const apiUrl = `http://127.0.0.1:${ports.api}`;
const webUrl = `http://127.0.0.1:${ports.web}/`;

const childEnv = {
  ...process.env,
  NODE_ENV: "development",
  NEXT_TELEMETRY_DISABLED: "1",
  TURBO_TELEMETRY_DISABLED: "1",
  ...(useColor ? { FORCE_COLOR: "1" } : {}),
};

const services = [
  {
    name: "issuer",
    color: "36",
    cwd: "apps/issuer",
    port: ports.issuer,
    env: { ISSUER_PORT: String(ports.issuer) },
    ready: `http://127.0.0.1:${ports.issuer}/.well-known/openid-configuration`,
    isReady: (status) => status === 200,
  },
  {
    name: "api",
    color: "35",
    cwd: "apps/api",
    port: ports.api,
    env: { PORT: String(ports.api), HOST: "127.0.0.1", ISSUER_BASE_URL: issuerUrl },
    // Ready means the API's signing keys are usable, so the first curl after the banner works.
    ready: `${apiUrl}/readyz`,
    isReady: (status) => status === 200,
  },
  {
    name: "web",
    color: "32",
    cwd: "apps/web",
    port: ports.web,
    env: {
      PORT: String(ports.web),
      API_URL: process.env.API_URL ?? `${apiUrl}/trpc`,
      ISSUER_BASE_URL: issuerUrl,
    },
    // The first request also compiles the home page, so the browser does not wait for it later.
    // Any answer counts: a page that fails still shows its error in the browser and in the log.
    ready: webUrl,
    isReady: () => true,
  },
];

const nameWidth = Math.max(...services.map((s) => s.name.length), "build".length);
const children = new Set();
// Every process group started, kept after its leader exits: its other members may still run.
const groups = [];
let stopping = false;

function prefix(name, color) {
  return paint(color, `${name.padEnd(nameWidth)} │`);
}

const formatLine = (line) => formatLogLine(line, { color: useColor });

function pipeLines(stream, write) {
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    buffered += chunk;
    const lines = buffered.split(/\r?\n/);
    buffered = lines.pop() ?? "";
    for (const line of lines) write(line);
  });
  stream.on("end", () => {
    if (buffered) write(buffered);
  });
}

// With `quiet`, output is kept in `child.output` instead of printed (shown only if it fails).
function start(name, color, command, args, cwd, env, { quiet = false } = {}) {
  const child = spawn(command, args, {
    cwd: resolve(root, cwd),
    env: { ...childEnv, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.label = name;
  child.exited = new Promise((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  child.once("error", (error) => {
    printError(`${prefix(name, color)} ${red(`could not start: ${error.message}`)}`);
  });
  children.add(child);
  if (child.pid !== undefined) groups.push(child.pid);
  child.exited.then(() => children.delete(child));
  child.output = [];
  const write = quiet
    ? (line) => child.output.push(line)
    : (line) => {
        // Terminal control sequences alone (cursor show/hide) make empty noise lines.
        if (line !== "" && stripVTControlCharacters(line) === "") return;
        print(`${prefix(name, color)} ${formatLine(line)}`);
      };
  pipeLines(child.stdout, write);
  pipeLines(child.stderr, write);
  return child;
}

// Each app's own `dev` script, run the way `pnpm run` would but without its exit-code banner.
function devScript(cwd) {
  const manifest = JSON.parse(readFileSync(resolve(root, cwd, "package.json"), "utf8"));
  if (typeof manifest.scripts?.dev !== "string") throw new Error(`${cwd} has no "dev" script`);
  return manifest.scripts.dev;
}

function binDir(cwd) {
  return resolve(root, cwd, "node_modules/.bin");
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

async function waitFor(condition, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((done) => setTimeout(done, 50));
  }
  return condition();
}

// The last resort of a stop, on its own thread so that a blocked main thread cannot starve it: if
// this process still runs when the graceful path (5 s of SIGTERM, then SIGKILL) should long be
// over, it kills every group and itself.
const EXIT_DEADLINE_MS = 9_000;
const WATCHDOG = `
const { workerData: { pid, groups, ms } } = require("node:worker_threads");
setTimeout(() => {
  for (const group of groups) {
    try { process.kill(-group, "SIGKILL"); } catch {}
  }
  process.kill(pid, "SIGKILL");
}, ms);
`;

function armExitDeadline(groups) {
  new Worker(WATCHDOG, {
    eval: true,
    execArgv: [],
    workerData: { pid: process.pid, groups, ms: EXIT_DEADLINE_MS },
  }).unref();
}

// Stops the web app first and the issuer last; each group gets SIGTERM, then SIGKILL after 5 s.
async function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  const running = [...children].reverse();
  const pids = [...groups].reverse().filter(groupAlive);
  armExitDeadline(pids);
  if (pids.length > 0) print(dim(`stopping ${running.map((c) => c.label).join(", ")}…`));
  for (const pid of pids) signalGroup(pid, "SIGTERM");
  const clean = await waitFor(() => pids.every((pid) => !groupAlive(pid)), 5_000);
  if (!clean) {
    for (const pid of pids) signalGroup(pid, "SIGKILL");
    await waitFor(() => pids.every((pid) => !groupAlive(pid)), 2_000);
  }
  process.exit(exitCode);
}

// A second Ctrl-C while stopping does not wait for the children's own shutdown.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => (stopping ? killAll() : stopAll(0)));
}

function killAll() {
  for (const pid of groups) signalGroup(pid, "SIGKILL");
  process.exit(1);
}

function portFree(port) {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", (error) => done(error.code !== "EADDRINUSE" && error.code !== "EACCES"));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () =>
      server.close(() => done(true)),
    );
  });
}

async function checkPorts() {
  const busy = [];
  for (const service of services) {
    if (!(await portFree(service.port))) busy.push(service);
  }
  if (busy.length === 0) return;
  const list = busy.map((s) => `${s.port} (${s.name})`).join(", ");
  const hint = busy
    .map((s) => `${s.name === "web" ? "WEB" : s.name.toUpperCase()}_PORT`)
    .join(", ");
  printError(
    red(`pnpm dev: port${busy.length > 1 ? "s" : ""} ${list} already in use on 127.0.0.1.`),
  );
  printError(
    `Another \`pnpm dev\` is probably running: stop it (Ctrl-C in its terminal), or find the owner ` +
      `with \`lsof -i :${busy[0]?.port}\`. To run a second copy, choose free ports with ${hint}.`,
  );
  process.exit(1);
}

async function answers(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(60_000), redirect: "manual" });
    await response.body?.cancel();
    return response.status;
  } catch {
    return undefined;
  }
}

async function waitUntilReady(service, child) {
  const deadline = Date.now() + readyTimeoutMs;
  let lastStatus;
  let exited = false;
  child.exited.then(() => {
    exited = true;
  });
  while (!stopping && !exited && Date.now() < deadline) {
    lastStatus = await answers(service.ready);
    if (lastStatus !== undefined && service.isReady(lastStatus)) return;
    await new Promise((done) => setTimeout(done, 250));
  }
  if (stopping) return;
  if (exited) {
    const { code, signal } = await child.exited;
    fail(`${service.name} exited before it was ready (${signal ?? `exit code ${code}`}).`);
  } else {
    const seen = lastStatus === undefined ? "no answer" : `HTTP ${lastStatus}`;
    fail(
      `${service.name} was not ready after ${readyTimeoutMs / 1000} s (${service.ready}: ${seen}).`,
    );
  }
  await new Promise(() => {});
}

function fail(message) {
  printError(red(`pnpm dev: ${message} Stopping.`));
  stopAll(1);
}

function banner() {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  const tokenCommand =
    ports.issuer === 4400 ? "pnpm get-token" : `ISSUER_PORT=${ports.issuer} pnpm get-token`;
  const lines = [
    "",
    bold(`  ✓ ready in ${seconds} s`),
    "",
    `    web     ${webUrl}`,
    `    api     ${apiUrl}/trpc   ${dim(`(${apiUrl}/healthz, /readyz, /metrics)`)}`,
    `    issuer  ${localIssuerUrl}   ${dim("(/.well-known/openid-configuration)")}`,
    "",
    "  Get a token and call the API:",
    `    curl -H "Authorization: Bearer $(${tokenCommand})" ${apiUrl}/trpc/whoami`,
    "",
    dim("  Ctrl-C stops everything."),
    "",
  ];
  print(lines.join("\n"));
}

async function main() {
  await checkPorts();

  const build = start(
    "build",
    "33",
    "pnpm",
    ["exec", "turbo", "run", "build", "--filter=@repo/auth", "--output-logs=errors-only"],
    ".",
    {},
    { quiet: true },
  );
  const built = await build.exited;
  if (stopping) return;
  if (built.code === 0) {
    print(`${prefix("build", "33")} @repo/auth built`);
  } else {
    for (const line of build.output) print(`${prefix("build", "33")} ${line}`);
    fail("building @repo/auth failed (see the lines above).");
    return;
  }

  for (const service of services) {
    if (stopping) return;
    const child = start(
      service.name,
      service.color,
      "sh",
      ["-c", devScript(service.cwd)],
      service.cwd,
      {
        ...service.env,
        PATH: [binDir(service.cwd), binDir("."), process.env.PATH].join(delimiter),
      },
    );
    await waitUntilReady(service, child);
  }
  if (stopping) return;

  for (const child of children) {
    child.exited.then(({ code, signal }) => {
      if (!stopping) fail(`${child.label} stopped (${signal ?? `exit code ${code}`}).`);
    });
  }
  banner();
}

main().catch((error) => {
  printError(red(`pnpm dev: ${error instanceof Error ? error.message : String(error)}`));
  stopAll(1);
});
