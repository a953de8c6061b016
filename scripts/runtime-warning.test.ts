import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { expect, it } from "vitest";
import { runtimeSupportNotice } from "../apps/issuer/src/runtime-support.js";

const root = resolve(import.meta.dirname, "..");

it("states oidc-provider's runtime warning once per test run, not once per test file", () => {
  // Two test files that each load oidc-provider, run as `pnpm vitest run` runs them.
  const run = spawnSync(
    "pnpm",
    [
      "vitest",
      "run",
      "--project",
      "issuer",
      "--reporter=default",
      "src/tenant.test.ts",
      "src/issuer-server.test.ts",
      "test/https.test.ts",
    ],
    { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
  );
  expect(run.status).toBe(0);
  const output = `${run.stdout}${run.stderr}`;
  const expected = runtimeSupportNotice() === undefined ? 0 : 1;
  expect(output.match(/oidc-provider WARNING: Unsupported runtime/g) ?? []).toHaveLength(expected);
  expect(output.match(/oidc-provider 9, the dev issuer's library/g) ?? []).toHaveLength(expected);
});
