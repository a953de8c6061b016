import { type ChildProcess, exec, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { freePort } from "@repo/test-utils";
import { validate } from "dockerfile-utils";
import { afterAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { execForm, instructionsOf, readDockerfile, type Stage } from "./test-support/dockerfile.js";

// No Docker engine runs here: the images are checked by doing what their Dockerfiles do, in this
// checkout (already installed and built, as `pnpm test` leaves it), and by reading them.
const repo = resolve(import.meta.dirname, "..");
const APPS = ["issuer", "api", "web"] as const;
type App = (typeof APPS)[number];

const dockerfilePath = (app: App) => join(repo, "apps", app, "Dockerfile");
const devTenant = JSON.parse(readFileSync(join(repo, "apps/issuer/tenant.dev.json"), "utf8")) as {
  apis: { identifier: string }[];
  clients: { clientId: string; clientSecret: string; grants: { audience: string }[] }[];
};

const work = mkdtempSync(join(tmpdir(), "docker-check-"));
const running = new Set<ChildProcess>();

afterAll(async () => {
  await Promise.all([...running].map(stop));
  rmSync(work, { recursive: true, force: true });
});

describe.each(APPS)("apps/%s/Dockerfile", (app) => {
  const dockerfile = readDockerfile(dockerfilePath(app));
  const build = dockerfile.stages[0] as Stage;
  const runtime = dockerfile.stages.at(-1) as Stage;

  it("passes the Dockerfile linter", () => {
    expect(validate(dockerfile.text)).toEqual([]);
  });

  it("pins its base images, builds in a separate stage and runs as a non-root user", () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of dockerfile.stages) {
      expect(stage.image).toMatch(/^[\w./-]+:\d+\.\d+\.\d+[\w.-]*$|@sha256:[0-9a-f]{64}$/);
    }
    const user = instructionsOf(runtime, "USER").at(-1)?.args[0];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(execForm(instructionsOf(runtime, "CMD").at(-1)?.content ?? "")[0]).toBe("node");
  });

  it("keeps telemetry off and holds no secret", () => {
    expect(build.env).toMatchObject({
      TURBO_TELEMETRY_DISABLED: "1",
      NEXT_TELEMETRY_DISABLED: "1",
    });
    if (app === "web") expect(runtime.env).toMatchObject({ NEXT_TELEMETRY_DISABLED: "1" });
    for (const stage of dockerfile.stages) {
      for (const instruction of [
        ...instructionsOf(stage, "ENV"),
        ...instructionsOf(stage, "ARG"),
      ]) {
        expect(instruction.content).not.toMatch(/SECRET|PASSWORD|TOKEN=|PRIVATE|CREDENTIAL/i);
      }
    }
    for (const client of devTenant.clients) {
      expect(dockerfile.text).not.toContain(client.clientSecret);
    }
  });

  it("copies what exists: the repository into the build, the deploy's output into the image", () => {
    for (const copy of instructionsOf(build, "COPY")) {
      for (const source of copy.args.slice(0, -1))
        expect(existsSync(join(repo, source))).toBe(true);
    }
    const [target] = instructionsOf(build, "RUN")
      .map((run) => / deploy (?:--\S+ )*(\/\S+)/.exec(run.content)?.[1])
      .filter((path) => path !== undefined);
    expect(target).toBe(`/prod/${app}`);
    for (const copy of instructionsOf(runtime, "COPY")) {
      expect(copy.flags.from).toBe(build.name);
      for (const source of copy.args.slice(0, -1))
        expect(source.startsWith(`${target}/`)).toBe(true);
    }
  });
});

it(".dockerignore keeps installs, builds, keys and env files out of the build context", () => {
  const ignored = readFileSync(join(repo, ".dockerignore"), "utf8").split("\n");
  for (const entry of [
    "**/node_modules",
    "**/dist",
    "**/.next",
    "apps/issuer/.keys",
    "**/.env",
    "**/.env.*",
  ]) {
    expect(ignored).toContain(entry);
  }
});

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  healthcheck?: unknown;
}

describe("compose.yaml", () => {
  const compose = parse(readFileSync(join(repo, "compose.yaml"), "utf8")) as {
    services: Record<string, ComposeService>;
  };
  const { services } = compose;
  const env = (name: string) => services[name]?.environment ?? {};

  it("runs the issuer, the API, the web app, Redis and Postgres, each app from its own Dockerfile", () => {
    expect(Object.keys(services).sort()).toEqual(["api", "issuer", "postgres", "redis", "web"]);
    for (const app of APPS) {
      const build = services[app]?.build;
      expect(build).toBeDefined();
      const context = resolve(repo, build?.context ?? "");
      expect(context).toBe(repo);
      expect(resolve(context, build?.dockerfile ?? "")).toBe(dockerfilePath(app));
    }
    expect(services.redis?.image).toMatch(/^redis:\d+\.\d+\.\d+/);
    expect(services.postgres?.image).toMatch(/^postgres:\d+\.\d+/);
  });

  // The names each app reads: its env.ts, plus PORT for the web app (read by `next start`).
  function namesReadBy(app: App): Set<string> {
    const file = app === "web" ? "apps/web/src/server/env.ts" : `apps/${app}/src/env.ts`;
    const source = readFileSync(join(repo, file), "utf8");
    const names = [
      ...source.matchAll(/^\s+([A-Z][A-Z0-9_]*)\s*:/gm),
      ...source.matchAll(/\b(?:env|source)\.([A-Z][A-Z0-9_]*)\b/g),
    ].map((match) => match[1] as string);
    return new Set([...names, ...(app === "web" ? ["PORT"] : [])]);
  }

  it("sets only variables the apps read, named as in their env.ts", () => {
    for (const app of APPS) {
      const read = namesReadBy(app);
      for (const name of Object.keys(env(app))) expect([app, read.has(name)]).toEqual([app, true]);
    }
  });

  it("points the apps at each other by their service names and published ports", () => {
    const issuerUrl = env("issuer").ISSUER_PUBLIC_URL;
    expect(issuerUrl).toBe(`http://issuer:${env("issuer").ISSUER_PORT}/`);
    expect(env("api").ISSUER_BASE_URL).toBe(issuerUrl);
    expect(env("web").ISSUER_BASE_URL).toBe(issuerUrl);
    expect(env("web").API_URL).toBe(`http://api:${env("api").PORT}/trpc`);
    expect(env("web").REDIS_URL).toBe("redis://redis:6379");
    const postgres = env("postgres");
    expect(env("api").DATABASE_URL).toBe(
      `postgres://${postgres.POSTGRES_USER}:${postgres.POSTGRES_PASSWORD}@postgres:5432/${postgres.POSTGRES_DB}`,
    );
    expect(services.issuer?.ports).toEqual([`127.0.0.1:${env("issuer").ISSUER_PORT}:4400`]);
    expect(services.api?.ports).toEqual([`127.0.0.1:4000:${env("api").PORT}`]);
    expect(services.web?.ports).toEqual([`127.0.0.1:3000:${env("web").PORT}`]);
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect([name, dependency in services]).toEqual([name, true]);
      }
    }
  });

  it("gives the web app only the dev tenant's published credentials, for the API's audience", () => {
    const audience = env("api").AUDIENCE;
    expect(env("web").AUDIENCE).toBe(audience);
    expect(devTenant.apis.map((api) => api.identifier)).toContain(audience);
    const client = devTenant.clients.find((c) => c.clientId === env("web").CLIENT_ID);
    expect(client?.clientSecret).toBe(env("web").CLIENT_SECRET);
    expect(client?.grants.map((grant) => grant.audience)).toContain(audience);
  });
});

/** The build stage's steps after the install (this checkout is installed), in order. */
function buildSteps(app: App): { command: string; env: Record<string, string> }[] {
  const build = readDockerfile(dockerfilePath(app)).stages[0] as Stage;
  return instructionsOf(build, "RUN")
    .filter((run) => !/^(npm install -g|pnpm install)\b/.test(run.content))
    .map((run) => ({
      command: run.content.replaceAll("/prod/", `${work}/${app}/prod/`),
      env: build.env,
    }));
}

function runStep(step: { command: string; env: Record<string, string> }): Promise<void> {
  return new Promise((done, fail) => {
    exec(step.command, { cwd: repo, env: { ...process.env, ...step.env } }, (error, _out, err) =>
      error ? fail(new Error(`${step.command} failed:\n${err}`)) : done(),
    );
  });
}

/** The image's working folder, laid out from what the runtime stage copies from the build. */
function layOutImage(app: App) {
  const runtime = readDockerfile(dockerfilePath(app)).stages.at(-1) as Stage;
  const prod = join(work, app, "prod");
  const dir = join(work, app, "app");
  mkdirSync(dir, { recursive: true });
  for (const copy of instructionsOf(runtime, "COPY")) {
    const destination = copy.args.at(-1) as string;
    for (const source of copy.args.slice(0, -1)) {
      const from = source.replace(/^\/prod\//, `${prod}/`);
      const to = destination.endsWith("/")
        ? join(dir, destination, basename(source))
        : join(dir, destination);
      cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    }
  }
  const command = execForm(instructionsOf(runtime, "CMD").at(-1)?.content ?? "");
  const healthcheck = instructionsOf(runtime, "HEALTHCHECK").at(-1)?.content;
  return {
    dir,
    env: runtime.env,
    command,
    healthcheck: healthcheck ? execForm(healthcheck.replace(/^(--\S+\s+)*/, "")) : undefined,
  };
}

/** Does what each Dockerfile's build stage does: the builds one after the other (turbo's cache
 * makes them quick after `pnpm build`), then the deploys side by side. */
async function deployAsDockerfiles() {
  const steps = APPS.flatMap(buildSteps);
  for (const step of steps.filter((s) => !s.command.includes(" deploy "))) await runStep(step);
  await Promise.all(steps.filter((s) => s.command.includes(" deploy ")).map(runStep));
  return APPS.map(layOutImage);
}

type Deployed = ReturnType<typeof layOutImage>;

/** Starts the image's command in its folder, with the image's environment and nothing else. */
function startDeployed(deployed: Deployed, env: Record<string, string>, extraArgs: string[] = []) {
  const [program, ...args] = deployed.command;
  expect(program).toBe("node");
  const child = spawn(process.execPath, [...args, ...extraArgs], {
    cwd: deployed.dir,
    env: { PATH: process.env.PATH, ...deployed.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  running.add(child);
  return { child, output: () => output };
}

async function stop(child: ChildProcess) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  }
  running.delete(child);
}

async function answers(url: string, started: ReturnType<typeof startDeployed>) {
  await vi.waitFor(
    async () => {
      if (started.child.exitCode !== null) throw new Error(`exited:\n${started.output()}`);
      const response = await fetch(url);
      expect(response.status).toBe(200);
    },
    { timeout: 30_000, interval: 100 },
  );
}

function runHealthcheck(deployed: Deployed, env: Record<string, string>) {
  const [program, ...args] = deployed.healthcheck ?? [];
  expect(program).toBe("node");
  return spawnSync(process.execPath, args, {
    cwd: deployed.dir,
    env: { PATH: process.env.PATH, ...deployed.env, ...env },
  }).status;
}

it("deployed as their Dockerfiles deploy them, the three apps serve one another from the deployed folders", async () => {
  const [issuer, api, web] = (await deployAsDockerfiles()) as [Deployed, Deployed, Deployed];
  const ports = { issuer: await freePort(), api: await freePort(), web: await freePort() };
  const issuerUrl = `http://127.0.0.1:${ports.issuer}/`;
  const apiUrl = `http://127.0.0.1:${ports.api}`;

  const issuerEnv = {
    ISSUER_HOST: "127.0.0.1",
    ISSUER_PORT: String(ports.issuer),
    ISSUER_KEYS_DIR: join(work, "keys"),
  };
  const issuerApp = startDeployed(issuer, issuerEnv);
  await answers(issuerUrl, issuerApp);
  expect(runHealthcheck(issuer, issuerEnv)).toBe(0);

  const apiEnv = {
    HOST: "127.0.0.1",
    PORT: String(ports.api),
    ISSUER_BASE_URL: issuerUrl,
    AUDIENCE: "https://api.example.local",
  };
  const apiApp = startDeployed(api, apiEnv);
  await answers(`${apiUrl}/readyz`, apiApp);
  expect(runHealthcheck(api, apiEnv)).toBe(0);

  // `next start` listens on every interface in the image; here, on loopback only.
  const webApp = startDeployed(
    web,
    {
      PORT: String(ports.web),
      API_URL: `${apiUrl}/trpc`,
      ISSUER_BASE_URL: issuerUrl,
      CLIENT_ID: "dev-writer",
      CLIENT_SECRET: "dev-writer-secret",
      AUDIENCE: "https://api.example.local",
    },
    ["--hostname", "127.0.0.1"],
  );
  const webUrl = `http://127.0.0.1:${ports.web}/`;
  await answers(webUrl, webApp);
  // The home page shows whoami's answer: a token from the issuer, verified by the API.
  expect(await (await fetch(webUrl)).text()).toContain("dev-writer@clients");

  for (const started of [webApp, apiApp, issuerApp]) await stop(started.child);
});
