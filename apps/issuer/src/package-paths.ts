import { fileURLToPath } from "node:url";

/** The package folder: `src/` and `dist/` both sit one level below it. */
const packageRoot = new URL("../", import.meta.url);

/** `apps/issuer/tenant.dev.json`: the development tenant (development-only credentials). */
export const devTenantPath = fileURLToPath(new URL("tenant.dev.json", packageRoot));

/** `apps/issuer/.keys/`: where the dev issuer keeps its signing keys (git-ignored). */
export const defaultKeysDir = fileURLToPath(new URL(".keys/", packageRoot));
