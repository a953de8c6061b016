import { existsSync } from "node:fs";
import { waitFor } from "@repo/test-utils";
import { type ChildApp, type ExitStatus, spawnChildApp } from "./child-app.js";
import { type Sample, scrape } from "./prometheus.js";
import { repoRoot } from "./repo-root.js";

/** Key-store tuning of the API, in seconds (the API's `JWKS_*` variables). */
export interface KeyStoreTuning {
  cacheMaxAge?: number;
  maxStale?: number;
  cooldown?: number;
  timeout?: number;
}

export interface ApiAppOptions {
  /** The issuer identifier tokens carry in `iss` (exact). */
  issuer: string;
  /** Where the API fetches keys; usually the fault proxy, so every fetch is counted. */
  jwksUri: string;
  audience: string;
  /** 0 for a random port; a fixed one to come back on the same address after a restart. */
  port?: number;
  tuning?: KeyStoreTuning;
  /** Wait until `/readyz` answers 200 (keys usable). Default true. */
  waitReady?: boolean;
  /** Log lines to keep, for tests that read every line. Default 4 000. */
  maxLogLines?: number;
  /** Postgres to keep items in (`DATABASE_URL`). Default: an embedded database in memory. */
  databaseUrl?: string;
}

export interface ApiApp {
  readonly url: string;
  readonly port: number;
  readonly process: ChildApp;
  metrics(): Promise<Sample[]>;
  stop(signal?: NodeJS.Signals): Promise<ExitStatus>;
}

/** Starts the built API (`node apps/api/dist/main.js`) and waits until it listens (and is ready). */
export async function startApiApp(options: ApiAppOptions): Promise<ApiApp> {
  const env: Record<string, string> = {
    ISSUER: options.issuer,
    JWKS_URI: options.jwksUri,
    AUDIENCE: options.audience,
    PORT: String(options.port ?? 0),
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    ...(options.databaseUrl === undefined
      ? { DATA_DIR: "memory://" }
      : { DATABASE_URL: options.databaseUrl }),
  };
  const tuning = options.tuning ?? {};
  for (const [name, value] of [
    ["JWKS_CACHE_MAX_AGE", tuning.cacheMaxAge],
    ["JWKS_MAX_STALE", tuning.maxStale],
    ["JWKS_COOLDOWN", tuning.cooldown],
    ["JWKS_TIMEOUT", tuning.timeout],
  ] as const) {
    if (value !== undefined) env[name] = String(value);
  }

  if (!existsSync(`${repoRoot}apps/api/dist/main.js`)) {
    throw new Error("apps/api is not built: run `pnpm build` (or `pnpm test:chaos`, which builds)");
  }
  const app = spawnChildApp({
    name: "api",
    args: ["apps/api/dist/main.js"],
    env,
    ...(options.maxLogLines === undefined ? {} : { maxLines: options.maxLogLines }),
  });
  const line = await app.waitForLine((l) => l.includes('"msg":"listening"'), 30_000);
  const url = String((JSON.parse(line) as { url: string }).url).replace(/\/$/, "");
  const port = Number(new URL(url).port);

  if (options.waitReady ?? true) {
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, {
      timeout: 20_000,
      message: `${url}/readyz to answer 200\n${app.tail()}`,
    });
  }

  return {
    url,
    port,
    process: app,
    metrics: () => scrape(`${url}/metrics`),
    stop: (signal = "SIGTERM") => app.stop(signal),
  };
}
