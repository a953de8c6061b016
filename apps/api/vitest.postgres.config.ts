import { workspaceProject } from "../../vitest.shared.js";

// The API's suite again, every test database on a real Postgres server (a private cluster that
// the global setup starts on a free loopback port) instead of the embedded PGlite.
export default workspaceProject("api-postgres", {
  test: { globalSetup: ["test/postgres-global-setup.ts"] },
});
