import { defineConfig } from "vitest/config";

// One run covers every workspace. Projects in a later group start only after the earlier groups
// finish, so the heavy multi-process suites never compete with unit tests for the two CPU cores.
export default defineConfig({
  test: {
    projects: [
      "packages/*",
      "tooling/*",
      "apps/*",
      "apps/web/vitest.e2e.config.ts",
      "chaos",
      "scripts/vitest.config.ts",
    ],
    reporters: ["default", "json"],
    outputFile: { json: ".test-results/vitest.json" },
  },
});
