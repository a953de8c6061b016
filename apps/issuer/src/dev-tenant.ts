import { devTenantPath } from "./package-paths.js";
import { loadTenant } from "./tenant.js";

/** The development tenant (`tenant.dev.json`), validated. Its secrets are development-only. */
export const devTenant = loadTenant(devTenantPath);
