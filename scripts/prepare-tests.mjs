// Makes sure what the test suites talk to is present: Debian's Chromium for the browser tests, a
// Redis server on 127.0.0.1:6379 for the shared token store and Debian's Postgres server binaries
// (`initdb`, `pg_ctl`), with which the API's tests start private clusters of their own (nothing
// listens on 5432 for them). Installs or starts what is missing.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { connect } from "node:net";

const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const isRoot = process.getuid?.() === 0;

function run(cmd, args) {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  execFileSync(cmd, args, {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

function aptInstall(pkg) {
  if (!isRoot) {
    throw new Error(`${pkg} is missing: install it with "sudo apt-get install -y ${pkg}"`);
  }
  run("apt-get", ["update"]);
  run("apt-get", ["install", "-y", "--no-install-recommends", pkg]);
}

function redisAnswers() {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: 6379 });
    socket.setTimeout(1000);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString().startsWith("+PONG"));
    });
    socket.once("timeout", () => socket.destroy());
    socket.once("error", () => resolve(false));
    socket.once("close", () => resolve(false));
  });
}

if (!existsSync(chromium)) aptInstall("chromium");

function postgresInstalled() {
  if (process.env.PG_BIN) return existsSync(`${process.env.PG_BIN}/pg_ctl`);
  const root = "/usr/lib/postgresql";
  return existsSync(root) && readdirSync(root).some((v) => existsSync(`${root}/${v}/bin/pg_ctl`));
}

// The package's own cluster is not needed: the tests start theirs on free loopback ports.
if (!postgresInstalled()) {
  aptInstall("postgresql");
  if (isRoot) spawnSync("service", ["postgresql", "stop"], { stdio: "ignore" });
}

if (!(await redisAnswers())) {
  if (spawnSync("redis-server", ["--version"]).error) aptInstall("redis-server");
  run("redis-server", [
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  for (let attempt = 0; attempt < 50 && !(await redisAnswers()); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!(await redisAnswers())) throw new Error("redis-server did not answer on 127.0.0.1:6379");
}
