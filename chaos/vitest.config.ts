import { workspaceProject } from "../vitest.shared.js";

// Whole-system fault scenarios start several processes each: run them one at a time, last.
export default workspaceProject("chaos", {
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**"],
    fileParallelism: false,
    sequence: { groupOrder: 2 },
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
