import { existsSync } from "node:fs";
import { freePort, waitFor } from "@repo/test-utils";
import { type ChildApp, spawnChildApp } from "./child-app.js";
import { repoRoot } from "./repo-root.js";

export interface WebAppOptions {
  /** The API's tRPC endpoint (`…/trpc`). */
  apiUrl: string;
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  redisUrl?: string;
}

export interface WebApp {
  readonly url: string;
  readonly process: ChildApp;
  /** GET a page; resolves with its status and HTML. */
  page(path: string): Promise<{ status: number; html: string }>;
  stop(): Promise<void>;
}

/**
 * Spawns `next start` on the production build and resolves once it answers `readyPath` at all (any
 * status).
 */
async function launchWebApp(
  options: WebAppOptions,
  readyPath: string,
  nameFor: (port: number) => string,
): Promise<WebApp> {
  if (!existsSync(`${repoRoot}apps/web/.next/BUILD_ID`)) {
    throw new Error("apps/web has no production build: run `pnpm build` (or `pnpm test:chaos`)");
  }
  const port = await freePort();
  const env: Record<string, string> = {
    API_URL: options.apiUrl,
    TOKEN_ENDPOINT: options.tokenEndpoint,
    CLIENT_ID: options.clientId,
    CLIENT_SECRET: options.clientSecret,
    AUDIENCE: options.audience,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
  };
  const app = spawnChildApp({
    name: nameFor(port),
    cwd: `${repoRoot}apps/web`,
    args: [
      "node_modules/next/dist/bin/next",
      "start",
      "--hostname",
      "127.0.0.1",
      "--port",
      String(port),
    ],
    env,
  });
  const url = `http://127.0.0.1:${port}`;
  const page = async (path: string) => {
    const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(30_000) });
    return { status: response.status, html: await response.text() };
  };
  await waitFor(async () => (await fetch(`${url}${readyPath}`)).status > 0, {
    timeout: 60_000,
    interval: 200,
    message: `the web app on ${url}\n${app.tail()}`,
  });
  return {
    url,
    process: app,
    page,
    stop: async () => {
      await app.stop("SIGTERM");
    },
  };
}

/** Starts the production Next server of apps/web (`next start`, built by `pnpm build`). */
export function startWebApp(options: WebAppOptions): Promise<WebApp> {
  return launchWebApp(options, "/status", () => "web");
}

/**
 * Starts the production Next server like `startWebApp`, but waits on a page that needs no token
 * (a missing path: Next's not-found page), so the process has not asked for a token yet when this
 * resolves. The process is named `web:<port>`, to tell the instances of a fleet apart.
 */
export function startColdWebApp(options: WebAppOptions): Promise<WebApp> {
  return launchWebApp(options, "/-/not-a-page", (port) => `web:${port}`);
}
