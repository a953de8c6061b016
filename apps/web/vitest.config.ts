import { fileURLToPath } from "node:url";
import { workspaceProject } from "../../vitest.shared.js";

export default workspaceProject("web", {
  // Next resolves "server-only" to an empty module on the server (the react-server condition);
  // tests run server code, so they do the same.
  resolve: {
    alias: {
      "server-only": fileURLToPath(new URL("./node_modules/server-only/empty.js", import.meta.url)),
    },
  },
  test: { include: ["src/**/*.test.ts", "test/*.test.ts"] },
});
