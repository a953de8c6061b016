import { defineProject, type UserWorkspaceConfig } from "vitest/config";

const conditions = ["@repo/source", "module", "node", "development|production"];

// Workspaces are consumed from their TypeScript sources in tests (the "@repo/source" export
// condition), so a test never runs against a stale build.
export function workspaceProject(name: string, config: UserWorkspaceConfig = {}) {
  return defineProject({
    ...config,
    resolve: { conditions, ...config.resolve },
    ssr: { resolve: { conditions } },
    test: {
      name,
      environment: "node",
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      ...config.test,
    },
  });
}
