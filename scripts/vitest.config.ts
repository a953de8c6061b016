import { fileURLToPath } from "node:url";
import { workspaceProject } from "../vitest.shared.js";

// Tests of the repository's own tooling (`pnpm dev`, the service generator, the package check).
// Each starts whole process trees, so they run one file at a time, after every other group.
export default workspaceProject("tooling", {
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["scripts/**/*.test.ts", "turbo/generators/**/*.test.ts"],
    fileParallelism: false,
    sequence: { groupOrder: 3 },
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
