import { workspaceProject } from "../../vitest.shared";

export default workspaceProject("auth");
