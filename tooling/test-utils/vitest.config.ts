import { workspaceProject } from "../../vitest.shared.js";

export default workspaceProject("test-utils");
