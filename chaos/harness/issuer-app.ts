import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type ChildApp, spawnChildApp } from "./child-app.js";
import { repoRoot } from "./repo-root.js";
import { clientSecret } from "./tenant.js";

export interface IssuerApp {
  /** The issuer identifier (`iss`), `http://127.0.0.1:PORT/`. */
  readonly issuer: string;
  readonly port: number;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  process(): ChildApp;
  /** What every run of the issuer printed, restarts included. */
  lines(): string[];
  /** The `kid` the keys file says signs new tokens (the issuer applies it on its next request). */
  signingKid(): string;
  /** A token for a tenant client, straight from the token endpoint (client_secret_post). */
  requestToken(request: { clientId: string; audience: string }): Promise<{ access_token: string }>;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same keys (and so the same issuer and kids). */
  start(): Promise<void>;
}

/** Starts the built issuer (`node apps/issuer/dist/main.js`) on a tenant file and a keys folder. */
export async function startIssuerApp(options: {
  tenantFile: string;
  keysDir: string;
}): Promise<IssuerApp> {
  if (!existsSync(`${repoRoot}apps/issuer/dist/main.js`)) {
    throw new Error(
      "apps/issuer is not built: run `pnpm build` (or `pnpm test:chaos`, which builds)",
    );
  }
  let port = 0;
  let app: ChildApp | undefined;
  const runs: ChildApp[] = [];
  let issuer = "";

  const start = async () => {
    if (app?.isRunning()) return;
    app = spawnChildApp({
      name: "issuer",
      args: ["apps/issuer/dist/main.js"],
      env: {
        ISSUER_PORT: String(port),
        ISSUER_TENANT: options.tenantFile,
        ISSUER_KEYS_DIR: options.keysDir,
      },
    });
    runs.push(app);
    const line = await app.waitForLine(/issuer ready at /, 30_000);
    issuer = /issuer ready at (\S+)/.exec(line)?.[1] ?? "";
    port = Number(new URL(issuer).port);
  };
  await start();

  return {
    get issuer() {
      return issuer;
    },
    get port() {
      return port;
    },
    get tokenEndpoint() {
      return new URL("/oauth/token", issuer).href;
    },
    get jwksUri() {
      return new URL("/.well-known/jwks.json", issuer).href;
    },
    process: () => app as ChildApp,
    lines: () => runs.flatMap((run) => run.lines),
    signingKid() {
      const file = JSON.parse(readFileSync(join(options.keysDir, "keys.json"), "utf8")) as {
        keys: { status: string; jwk: { kid: string } }[];
      };
      const current = file.keys.find((key) => key.status === "current");
      if (!current) throw new Error("the keys file has no current key");
      return current.jwk.kid;
    },
    async requestToken({ clientId, audience }) {
      const response = await fetch(new URL("/oauth/token", issuer), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: clientId,
          client_secret: clientSecret(clientId),
          audience,
        }),
      });
      if (!response.ok) throw new Error(`token request answered ${response.status}`);
      return (await response.json()) as { access_token: string };
    },
    async stop() {
      await app?.stop("SIGTERM");
    },
    start,
  };
}
