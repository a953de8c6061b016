import { defineConfig } from "drizzle-kit";

// `pnpm --filter @repo/api db:generate` writes a new migration into drizzle/ after a change to
// the schema; the API applies pending migrations at start.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
});
