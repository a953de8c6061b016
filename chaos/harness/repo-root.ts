import { fileURLToPath } from "node:url";

/** Absolute path of the monorepo root; built apps are started from their `dist/` folders. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
