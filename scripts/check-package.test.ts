import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");

it("packs @repo/auth into a tarball that publint (strict) and attw accept", () => {
  const run = spawnSync("node", ["scripts/check-package.mjs"], { cwd: root, encoding: "utf8" });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  for (const step of [
    "ok   tarball holds the build and no tests",
    "ok   packed package.json has no workspace or catalog versions",
    "ok   the packed #crypto import picks each runtime's backend",
    "ok   publint --strict",
    "ok   attw --profile esm-only",
  ]) {
    expect(run.stdout).toContain(step);
  }
});
