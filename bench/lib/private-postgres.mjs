// A throw-away Postgres cluster for the database section: Debian's server binaries, a free
// loopback port, a temporary data directory (as root, owned by and run as `postgres`). The tests
// use @repo/test-utils' startPrivatePostgres; this is its plain-JavaScript twin for the benchmarks.
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function findBin() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "pg_ctl")))
    : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(root, versions[0], "bin");
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** Starts a cluster; `undefined` when Postgres is not installed (the section then skips it). */
export async function startPrivatePostgres() {
  const bin = findBin();
  if (!bin) return undefined;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "bench-postgres-"));
  const data = join(dir, "data");
  const owner =
    process.getuid?.() === 0
      ? {
          uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })),
          gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" })),
        }
      : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const run = (tool, args) =>
    execFileSync(join(bin, tool), args, { cwd: dir, stdio: "ignore", ...(owner ?? {}) });
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off`;
  run("pg_ctl", ["start", "-D", data, "-l", join(dir, "server.log"), "-w", "-o", options]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      run("pg_ctl", ["stop", "-D", data, "-m", "fast", "-w"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
