export { devTenant } from "./dev-tenant.js";
export { DEFAULT_ISSUER_PORT } from "./env.js";
export {
  type RunningIssuer,
  type StartIssuerOptions,
  startIssuer,
} from "./issuer-server.js";
export { defaultKeysDir, devTenantPath } from "./package-paths.js";
export { KeyFileError } from "./signing-keys.js";
export {
  loadTenant,
  parseTenant,
  type Tenant,
  type TenantApi,
  type TenantClient,
  type TenantConfig,
  TenantError,
} from "./tenant.js";
export {
  requestToken,
  type TokenRequest,
  TokenRequestError,
  type TokenResponse,
} from "./token-request.js";
