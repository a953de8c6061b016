import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ClientCredentialsClientOptions,
  createClientCredentialsClient,
  type TokenClientEvent,
} from "@repo/auth";
import { type ApiApp, type KeyStoreTuning, startApiApp } from "./api-app.js";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.js";
import { type IssuerApp, startIssuerApp } from "./issuer-app.js";
import { AUDIENCE, chaosTenant, WRITER } from "./tenant.js";

export interface SystemOptions {
  /** Access-token lifetime of the tenant's API, seconds. */
  tokenLifetime: number;
  tuning?: KeyStoreTuning;
  /** A fixed API port (to restart it on the same address); random by default. */
  apiPort?: number;
  /** API log lines to keep. Default 4 000. */
  apiLogLines?: number;
  /** Postgres every API instance keeps its items in. Default: each its own in-memory PGlite. */
  databaseUrl?: string;
}

export interface ChaosSystem {
  /** The authorization server (apps/issuer), a child process on a tenant file and keys folder. */
  issuer: IssuerApp;
  /** Everything the API and the token clients send to the issuer goes through it. */
  proxy: FaultProxy;
  api: ApiApp;
  keysDir: string;
  /** The tenant as a file, for the issuer's commands (`ISSUER_TENANT`). */
  tenantFile: string;
  jwksPath: string;
  tokenPath: string;
  /** Every line the issuer and the API processes (all of them, restarts included) printed. */
  logLines(): string[];
  /** Starts another API process against the same issuer (a restart). */
  startApi(port?: number): Promise<ApiApp>;
  /** A token client as the web app's server side builds it, pointed at the proxy. */
  tokenClient(options?: Partial<ClientCredentialsClientOptions>): {
    client: ReturnType<typeof createClientCredentialsClient>;
    /** What the client reported, with when (epoch ms, real time). */
    events: (TokenClientEvent & { at: number })[];
  };
}

/**
 * Issuer (built, a child process on a temporary keys folder) → fault proxy → API (built, as a child
 * process). Everything is torn down through `defer`.
 */
export async function startSystem(
  defer: (cleanup: () => unknown) => void,
  options: SystemOptions,
): Promise<ChaosSystem> {
  const dir = await mkdtemp(join(tmpdir(), "chaos-"));
  defer(() => rm(dir, { recursive: true, force: true }));
  const keysDir = join(dir, "keys");
  await mkdir(keysDir);
  const tenant = chaosTenant(options.tokenLifetime);
  const tenantFile = join(dir, "tenant.json");
  await writeFile(tenantFile, JSON.stringify(tenant));
  const issuer = await startIssuerApp({ tenantFile, keysDir });
  defer(() => issuer.stop());
  const proxy = await startFaultProxy(issuer.issuer);
  defer(() => proxy.close());
  const jwksPath = new URL(issuer.jwksUri).pathname;
  const tokenPath = new URL(issuer.tokenEndpoint).pathname;

  const apis: ApiApp[] = [];
  const startApi = async (port = options.apiPort) => {
    const api = await startApiApp({
      issuer: issuer.issuer,
      jwksUri: `${proxy.url}${jwksPath}`,
      audience: AUDIENCE,
      ...(port === undefined ? {} : { port }),
      ...(options.tuning ? { tuning: options.tuning } : {}),
      ...(options.apiLogLines === undefined ? {} : { maxLogLines: options.apiLogLines }),
      ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
    });
    defer(() => api.stop("SIGKILL"));
    apis.push(api);
    return api;
  };
  const api = await startApi();

  return {
    issuer,
    proxy,
    api,
    keysDir,
    tenantFile,
    jwksPath,
    tokenPath,
    startApi,
    logLines: () => [...issuer.lines(), ...apis.flatMap((api) => api.process.lines)],
    tokenClient(overrides = {}) {
      const events: (TokenClientEvent & { at: number })[] = [];
      const client = createClientCredentialsClient({
        tokenEndpoint: `${proxy.url}${tokenPath}`,
        clientId: WRITER.clientId,
        clientSecret: WRITER.clientSecret,
        audience: AUDIENCE,
        onEvent: (event) => events.push({ ...event, at: Date.now() }),
        ...overrides,
      });
      defer(() => client.close());
      return { client, events };
    },
  };
}
