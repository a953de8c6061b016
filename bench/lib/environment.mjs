import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));

/** The installed version of `name` as seen from the package in `from` (resolved like Node does). */
function versionOf(name, from = benchDir) {
  try {
    let dir = dirname(createRequire(join(from, "package.json")).resolve(name));
    while (dir !== dirname(dir)) {
      const manifest = join(dir, "package.json");
      if (existsSync(manifest)) {
        const { name: found, version } = JSON.parse(readFileSync(manifest, "utf8"));
        if (found === name) return { version, dir: realpathSync(dir) };
      }
      dir = dirname(dir);
    }
  } catch {}
  return { version: "not installed", dir: benchDir };
}

/** Versions of everything the results depend on, read from the installed packages. */
export function packageVersions() {
  const auth0 = versionOf("express-oauth2-jwt-bearer");
  const rows = [
    ["node", process.versions.node],
    ["openssl (node)", process.versions.openssl],
    ["jose", versionOf("jose").version],
    ["fast-jwt", versionOf("fast-jwt").version],
    ["express-oauth2-jwt-bearer", auth0.version],
    ["jose (used by express-oauth2-jwt-bearer)", versionOf("jose", auth0.dir).version],
    ["express", versionOf("express").version],
    ["mitata", versionOf("mitata").version],
    ["autocannon", versionOf("autocannon").version],
    ["ioredis", versionOf("ioredis").version],
    ["@trpc/server (api)", versionOf("@trpc/server", join(benchDir, "..", "apps", "api")).version],
  ];
  return rows;
}

function git(...args) {
  try {
    return execFileSync("git", args, { cwd: benchDir, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

/** The machine and the state of the checkout, for the header of RESULTS.md. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpu: `${cpus.length} × ${cpus[0]?.model ?? "unknown"}`,
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    loadAverage: os.loadavg(),
    commit: git("rev-parse", "--short", "HEAD"),
  };
}
