import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "@repo/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyWorkspace } from "../../scripts/test-support/workspace-copy.js";
import { checkAudience, checkServiceName, generateService } from "./service-generator.js";

// Every case works on a copy of the repository's files (tracked and new, not ignored) in a temp
// folder, with dependencies installed offline from the local store: the checkout is never touched.
const repo = resolve(import.meta.dirname, "../..");
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", NO_COLOR: "1" };
// The generator needs no registry: with this, any request to one fails at once.
const noRegistry = { npm_config_registry: "http://127.0.0.1:9/" };
let copy: string;
const children = new Set<ChildProcess>();

function run(cmd: string, args: string[], extraEnv: Record<string, string> = {}) {
  try {
    return execFileSync(cmd, args, {
      cwd: copy,
      env: { ...env, ...extraEnv },
      encoding: "utf8",
      stdio: "pipe",
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

beforeAll(() => {
  copy = copyWorkspace(repo, { linkInstall: false });
  run("pnpm", ["install", "--offline", "--frozen-lockfile"]);
});

afterAll(() => {
  // Only after a failure is anything still running here; its whole process group goes.
  for (const child of children)
    if (child.pid && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  if (copy) rmSync(copy, { recursive: true, force: true });
});

const tenantText = () => readFileSync(join(copy, "apps/issuer/tenant.dev.json"), "utf8");

describe("the service generator", () => {
  it("refuses an unusable name or audience before writing anything", () => {
    const before = tenantText();
    expect(checkServiceName(copy, "Billing")).toMatch(/lowercase/);
    expect(checkServiceName(copy, "bill--ing")).toMatch(/lowercase/);
    expect(checkServiceName(copy, "api")).toMatch(/already used/);
    expect(checkServiceName(copy, "auth")).toMatch(/already used/);
    expect(checkServiceName(copy, "billing")).toBeUndefined();
    expect(checkAudience(copy, "billing")).toMatch(/absolute URI/);
    expect(checkAudience(copy, "https://api.example.local")).toMatch(/already has an API/);
    expect(checkAudience(copy, "https://billing.example.local")).toBeUndefined();
    expect(() =>
      generateService(copy, { name: "reports", audience: "https://api.example.local" }),
    ).toThrow(/audience: the dev tenant already has an API/);
    expect(existsSync(join(copy, "apps/reports"))).toBe(false);
    expect(tenantText()).toBe(before);
  });

  it("creates a service that passes typecheck, lint and its own tests, callable with its dev client", async () => {
    const args = ["gen", "service", "--args", "billing", "https://billing.example.local"];
    const output = run("pnpm", args, noRegistry);
    expect(output).toContain("apps/billing and apps/issuer/tenant.dev.json (written)");
    expect(output).not.toContain("(function)");
    const lines = output.split("\n");
    expect(lines).toContain("  pnpm --filter @repo/billing dev   # http://127.0.0.1:4001/trpc");
    expect(lines).toContain(
      '  curl -H "Authorization: Bearer $(pnpm get-token --client billing-dev-client --audience https://billing.example.local)" http://127.0.0.1:4001/trpc/whoami',
    );

    const tenant = JSON.parse(tenantText()) as {
      apis: { identifier: string; scopes: string[] }[];
      clients: { clientId: string; grants: { audience: string; scopes: string[] }[] }[];
    };
    expect(
      tenant.apis.find((api) => api.identifier === "https://billing.example.local"),
    ).toMatchObject({
      scopes: ["read:billing", "write:billing", "admin:billing", "read:audit"],
    });
    const grantsOn = (clientId: string) =>
      tenant.clients
        .find((client) => client.clientId === clientId)
        ?.grants.find((grant) => grant.audience === "https://billing.example.local")?.scopes;
    expect(grantsOn("billing-dev-client")).toEqual(["read:billing", "write:billing"]);
    expect(grantsOn("dev-reader")).toEqual(["read:billing"]);
    expect(grantsOn("dev-writer")).toEqual(["read:billing", "write:billing"]);
    expect(grantsOn("dev-admin")).toEqual([
      "read:billing",
      "write:billing",
      "admin:billing",
      "read:audit",
    ]);

    const manifest = JSON.parse(readFileSync(join(copy, "apps/billing/package.json"), "utf8"));
    expect(manifest.name).toBe("@repo/billing");
    const dockerfile = readFileSync(join(copy, "apps/billing/Dockerfile"), "utf8");
    expect(dockerfile).toContain("--filter=@repo/billing");
    expect(dockerfile).toContain("COPY --from=build /prod/billing/dist ./dist");
    expect(dockerfile).not.toMatch(/@repo\/api|\/api\b/);
    const source = readFileSync(join(copy, "apps/billing/src/env.ts"), "utf8");
    expect(source).toContain('"https://billing.example.local"');
    expect(source).toContain('"4001"');

    // The new workspace changes the lockfile, which CI would otherwise refuse (frozen by default).
    // Its dependencies are those of apps/api, already in the store; only package metadata may be
    // missing from a fresh cache, hence prefer-offline rather than offline.
    run("pnpm", ["install", "--prefer-offline", "--no-frozen-lockfile"]);
    run("pnpm", ["exec", "biome", "check", "apps/billing", "apps/issuer/tenant.dev.json"]);
    run("pnpm", ["--filter", "@repo/billing", "typecheck"]);
    run("pnpm", ["--filter", "@repo/billing", "test"]);

    const issuerPort = await freePort();
    const issuer = await startMain(
      join(copy, "apps/issuer"),
      { ISSUER_PORT: String(issuerPort), ISSUER_KEYS_DIR: join(copy, ".keys") },
      (line) => line.includes("issuer ready"),
    );
    const billing = await startMain(
      join(copy, "apps/billing"),
      { PORT: "0", ISSUER_BASE_URL: `http://127.0.0.1:${issuerPort}/` },
      (line) => line.includes('"msg":"listening"'),
    );
    const apiUrl = (JSON.parse(billing) as { url: string }).url;
    expect(issuer).toContain(`http://127.0.0.1:${issuerPort}/`);

    const tokenResponse = await fetch(`http://127.0.0.1:${issuerPort}/oauth/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: "billing-dev-client",
        client_secret: "billing-dev-client-secret",
        audience: "https://billing.example.local",
      }),
    });
    expect(tokenResponse.status).toBe(200);
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };

    const created = await fetch(`${apiUrl}/trpc/items.create`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "first" }),
    });
    expect(created.status).toBe(200);
    const whoami = await fetch(`${apiUrl}/trpc/whoami`, { headers });
    expect(await whoami.json()).toMatchObject({
      result: {
        data: { clientId: "billing-dev-client", scopes: ["read:billing", "write:billing"] },
      },
    });
    const anonymous = await fetch(`${apiUrl}/trpc/items.list`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe(
      'Bearer realm="billing", DPoP realm="billing", algs="ES256 ES384 ES512 EdDSA Ed25519 RS256 PS256"',
    );
    expect(await stopAll()).toEqual([0, 0]);
    // The generated suite opens an embedded database for every test server it starts.
  }, 600_000);

  it("gives the service a dev script that prints its log lines as `pnpm dev` does", async () => {
    const dir = join(copy, "apps/billing");
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    // As `pnpm --filter @repo/billing dev` runs it, without pnpm's own banner in between.
    const child = spawn("sh", ["-c", manifest.scripts.dev], {
      cwd: dir,
      env: {
        ...env,
        PATH: [
          join(dir, "node_modules/.bin"),
          join(copy, "node_modules/.bin"),
          process.env.PATH,
        ].join(delimiter),
        PORT: "0",
        ISSUER_BASE_URL: `http://127.0.0.1:${await freePort()}/`,
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    children.add(child);
    const listening = await new Promise<string>((done, fail) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (line.includes("listening")) done(line);
      });
      child.once("exit", (code) => fail(new Error(`the dev script exited (${code})`)));
    });
    expect(listening).toMatch(/^info listening service=billing url=http:\/\/127\.0\.0\.1:\d+$/);
    const exited = once(child, "exit");
    if (child.pid) process.kill(-child.pid, "SIGTERM");
    await exited;
    children.delete(child);
  });
});

/** Starts `src/main.ts` of an app and resolves with the first output line that `ready` accepts. */
function startMain(
  cwd: string,
  extraEnv: Record<string, string>,
  ready: (line: string) => boolean,
): Promise<string> {
  const child = spawn(
    process.execPath,
    ["--conditions=@repo/source", "--import", "tsx", "src/main.ts"],
    {
      cwd,
      env: { ...env, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  children.add(child);
  const lines: string[] = [];
  return new Promise((done, fail) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (ready(line)) done(line);
      });
    }
    child.once("exit", (code) =>
      fail(new Error(`${cwd} exited (${code}) before it was ready:\n${lines.join("\n")}`)),
    );
  });
}

/** Stops every started app with SIGTERM, as a process manager would, and waits for it to exit. */
async function stopAll(): Promise<(number | null)[]> {
  const codes = [...children].map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = await exited;
    return code as number | null;
  });
  const result = await Promise.all(codes);
  children.clear();
  return result;
}
