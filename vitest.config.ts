import { defineConfig } from "vitest/config";
import { runtimeSupportNotice } from "./apps/issuer/src/runtime-support.js";

// On a Node.js release it does not support, oidc-provider warns each time it is loaded: once in
// every test file that starts an issuer. The run states that fact once, in the project's words.
let runtimeNoticeShown = false;

function runtimeWarningOnce(log: string): false | undefined {
  if (!log.includes("oidc-provider WARNING: Unsupported runtime")) return undefined;
  if (!runtimeNoticeShown) {
    runtimeNoticeShown = true;
    const notice = runtimeSupportNotice();
    process.stderr.write(`${log.trim()}\n${notice ? `${notice}\n` : ""}`);
  }
  return false;
}

// One run covers every workspace. Projects in a later group start only after the earlier groups
// finish, so the heavy multi-process suites never compete with unit tests for the two CPU cores.
export default defineConfig({
  test: {
    projects: [
      "packages/*",
      "tooling/*",
      "apps/*",
      "apps/api/vitest.postgres.config.ts",
      "apps/web/vitest.e2e.config.ts",
      "chaos",
      "scripts/vitest.config.ts",
    ],
    onConsoleLog: runtimeWarningOnce,
    reporters: ["default", "json"],
    outputFile: { json: ".test-results/vitest.json" },
  },
});
