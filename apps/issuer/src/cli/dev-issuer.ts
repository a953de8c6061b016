import { readFile } from "node:fs/promises";
import { readEnv } from "../env.js";
import { defaultKeysDir, devTenantPath } from "../package-paths.js";
import { loadTenant, type Tenant } from "../tenant.js";
import { certificatePath } from "../tls-certificate.js";

/** The running development issuer as the commands reach it, from the same environment. */
export interface DevIssuer {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly tenant: Tenant;
  /** In HTTPS mode, the issuer's self-signed certificate. */
  readonly ca: string | undefined;
  /** The API's tRPC endpoint: `API_URL`, else the development API's. */
  readonly apiUrl: string;
}

export async function devIssuer(): Promise<DevIssuer> {
  const env = readEnv();
  const port = env.ISSUER_PORT === 0 ? 4400 : env.ISSUER_PORT;
  const issuer = `${env.ISSUER_HTTPS ? "https" : "http"}://127.0.0.1:${port}/`;
  const ca = env.ISSUER_HTTPS
    ? await readFile(certificatePath(env.ISSUER_KEYS_DIR ?? defaultKeysDir), "utf8")
    : undefined;
  return {
    issuer,
    tokenEndpoint: new URL("oauth/token", issuer).href,
    tenant: loadTenant(env.ISSUER_TENANT ?? devTenantPath),
    ca,
    apiUrl: env.API_URL ?? "http://127.0.0.1:4000/trpc",
  };
}

/** `error`, or a plain sentence when no `what` listens at `url` (`hint` says how to start it). */
export function unreachable(error: unknown, what: string, url: string, hint: string): unknown {
  const causes = [error, (error as { cause?: unknown } | undefined)?.cause];
  if (causes.some((e) => (e as NodeJS.ErrnoException | undefined)?.code === "ECONNREFUSED")) {
    return new Error(`no ${what} answers at ${url}; ${hint}`);
  }
  return error;
}

/** How to start the issuer, for `unreachable`. */
export const START_ISSUER = "start it with `pnpm --filter @repo/issuer dev` (or set ISSUER_PORT)";
