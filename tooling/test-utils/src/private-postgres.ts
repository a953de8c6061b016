import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  readonly url: string;
  readonly port: number;
  /** The URL of another database on this server. */
  urlFor(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): string;
  /** Runs SQL as the superuser in `database` (default `postgres`) and returns psql's output. */
  psql(sql: string, database?: string): string;
  /** `immediate` (default) drops every connection at once, as a crash does; `fast` is a clean stop. */
  stop(mode?: "immediate" | "fast"): void;
  /** Starts it again on the same port and data. */
  start(): void;
  /** Stops it and deletes its data directory. */
  destroy(): void;
}

export interface PrivatePostgresOptions {
  /** Default: a free port. */
  port?: number;
  /** Directory holding `initdb`, `pg_ctl` and `psql`. Default: `PG_BIN`, else the newest
   * `/usr/lib/postgresql/<version>/bin` (Debian's `postgresql` package). */
  binDir?: string;
}

/** Where Debian's (or `PG_BIN`'s) Postgres server binaries are, or undefined when not installed. */
export function findPostgresBin(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

const started = new Set<() => void>();

// A test runner that exits without its teardown must not leave a server behind.
process.once("exit", () => {
  for (const stop of started) stop();
});

/**
 * A throw-away Postgres cluster on 127.0.0.1 and a free port, its data in a temp directory, so
 * tests never touch a shared server on 5432. As root, the server runs as the `postgres` user
 * (Postgres refuses to run as root) and the data directory is given to that user. Tuned for tests:
 * no fsync (a crashed server keeps what it committed, a crashed host would not), trust
 * authentication on loopback only.
 *
 * @example
 * const postgres = await startPrivatePostgres();
 * const url = postgres.createDatabase("items_test");
 * postgres.destroy();
 */
export async function startPrivatePostgres(
  options: PrivatePostgresOptions = {},
): Promise<PrivatePostgres> {
  const binDir = options.binDir ?? findPostgresBin();
  if (binDir === undefined) {
    throw new Error(
      "Postgres server binaries not found: install Debian's postgresql package (node scripts/prepare-tests.mjs does) or set PG_BIN",
    );
  }
  const port = options.port ?? (await freePort());
  const isRoot = process.getuid?.() === 0;
  const owner = isRoot ? userIds("postgres") : undefined;
  const dir = mkdtempSync(join(tmpdir(), "private-postgres-"));
  const data = join(dir, "data");
  if (owner) chownSync(dir, owner.uid, owner.gid);

  const run = (tool: string, args: string[]) =>
    execFileSync(join(binDir, tool), args, {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PGTZ: "UTC", LC_ALL: "C" },
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    });

  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const serverOptions = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c fsync=off",
    "-c full_page_writes=off",
    "-c max_connections=200",
  ].join(" ");
  let running = false;
  const start = () => {
    if (running) return;
    run("pg_ctl", ["start", "-D", data, "-l", join(dir, "server.log"), "-w", "-o", serverOptions]);
    running = true;
  };
  const stop = (mode: "immediate" | "fast" = "immediate") => {
    if (!running) return;
    run("pg_ctl", ["stop", "-D", data, "-m", mode, "-w"]);
    running = false;
  };
  const stopQuietly = () => {
    try {
      stop("immediate");
    } catch {
      // Already gone.
    }
  };
  start();
  started.add(stopQuietly);

  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const psql = (sql: string, database = "postgres") =>
    run("psql", [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      database,
      "-v",
      "ON_ERROR_STOP=1",
      "-qAtc",
      sql,
    ]);
  return {
    url: urlFor("postgres"),
    port,
    urlFor,
    psql,
    createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
        throw new Error(`not a plain database name: ${name}`);
      psql(`create database ${name}`);
      return urlFor(name);
    },
    stop,
    start,
    destroy() {
      stopQuietly();
      started.delete(stopQuietly);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
  return { uid, gid };
}
