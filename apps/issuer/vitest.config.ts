import { workspaceProject } from "../../vitest.shared.js";

export default workspaceProject("issuer", {
  test: { globalSetup: ["test/global-setup.ts"] },
});
