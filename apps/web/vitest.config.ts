import { workspaceProject } from "../../vitest.shared";

export default workspaceProject("web", { test: { include: ["src/**/*.test.ts", "test/*.test.ts"] } });
