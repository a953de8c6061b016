import { workspaceProject } from "../../vitest.shared.js";

// Browser tests drive the production build, so they run after every other suite.
export default workspaceProject("web-e2e", {
  test: {
    include: ["test/e2e/**/*.test.ts"],
    fileParallelism: false,
    sequence: { groupOrder: 1 },
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});
