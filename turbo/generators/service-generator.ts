import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";

/**
 * Generates a protected tRPC service from `apps/api` as it is when the generator runs: its files
 * are copied and renamed, so a new service starts from the current best version (env validation,
 * `protectedProcedure`, `requireScopes`, health, metrics, shutdown, tests) and no template can
 * drift from it.
 */

/** The template every service is generated from. */
export const TEMPLATE_DIR = "apps/api";
/** The dev tenant a new service is registered in. */
export const TENANT_FILE = "apps/issuer/tenant.dev.json";
const TEMPLATE_AUDIENCE = "https://api.example.local";
const TEMPLATE_PORT = 4000;
const TEMPLATE_SCOPES = {
  read: "read:items",
  write: "write:items",
  admin: "admin:items",
} as const;
/** The audit trail's scope: the same name on every API (scopes belong to their API). */
const AUDIT_SCOPE = "read:audit";

/**
 * Vitest project and workspace names already in use, besides the folders in apps/ and packages/
 * (`test-utils` is `tooling/test-utils`).
 */
const RESERVED_NAMES = new Set([
  "api",
  "web",
  "issuer",
  "auth",
  "bench",
  "chaos",
  "test-utils",
  "tooling",
  "web-e2e",
]);
/** Build output and local state that a copy must not carry. */
const SKIPPED = new Set([
  "node_modules",
  "dist",
  ".turbo",
  ".next",
  "coverage",
  "test-results",
  // The template's local embedded database (DATA_DIR); the service makes its own.
  ".data",
]);

export interface ServiceOptions {
  /** Folder and package name: `apps/<name>`, `@repo/<name>`. */
  name: string;
  /** The new API's identifier: the `aud` its tokens must carry. */
  audience: string;
  /** Default `PORT`. Default: the first port from 4001 that no app's env defaults to. */
  port?: number;
}

/** What a new service will be, decided before anything is written. */
export interface ServicePlan {
  name: string;
  audience: string;
  packageName: string;
  port: number;
  scopes: { read: string; write: string; admin: string };
  /** The dev tenant client registered for the service, with its development-only secret. */
  client: { clientId: string; clientSecret: string };
}

export interface GeneratedService extends ServicePlan {
  dir: string;
  files: string[];
}

/** `undefined` when `name` can be a new service in `root`, else why not. */
export function checkServiceName(root: string, name: string): string | undefined {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name) || name.length > 40) {
    return "use lowercase letters, digits and single dashes, starting with a letter (e.g. billing)";
  }
  if (RESERVED_NAMES.has(name)) return `"${name}" is already used in this repository`;
  for (const parent of ["apps", "packages"]) {
    if (existsSync(join(root, parent, name))) return `${parent}/${name} already exists`;
  }
  return undefined;
}

/** `undefined` when `audience` can identify a new API of the dev tenant, else why not. */
export function checkAudience(root: string, audience: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(audience) || !URL.canParse(audience)) {
    return "use an absolute URI, e.g. https://billing.example.local (it need not resolve)";
  }
  const tenant = readTenant(root);
  if (tenant.apis.some((api) => api.identifier === audience)) {
    return `the dev tenant already has an API ${audience}`;
  }
  return undefined;
}

interface TenantGrant {
  audience: string;
  scopes: string[];
  [key: string]: unknown;
}

interface TenantFile {
  apis: { identifier: string; [key: string]: unknown }[];
  clients: { clientId: string; [key: string]: unknown }[];
  [key: string]: unknown;
}

function readTenant(root: string): TenantFile {
  return JSON.parse(readFileSync(join(root, TENANT_FILE), "utf8")) as TenantFile;
}

/** The first port from 4001 that no app's env.ts uses as its default. */
export function choosePort(root: string): number {
  const taken = new Set<number>([3000, 4000, 4400]);
  for (const app of readdirSync(join(root, "apps"))) {
    const env = join(root, "apps", app, "src/env.ts");
    if (!existsSync(env)) continue;
    for (const match of readFileSync(env, "utf8").matchAll(/\?\? "(\d{4,5})"/g)) {
      taken.add(Number(match[1]));
    }
  }
  let port = TEMPLATE_PORT + 1;
  while (taken.has(port)) port++;
  return port;
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name) || entry.name.startsWith(".env")) continue;
    if (entry.name.endsWith(".tsbuildinfo") || entry.name.endsWith(".log")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

const TEXT_FILE = /\.(ts|tsx|js|mjs|cjs|json|md|txt|ya?ml)$|(^|[/\\])Dockerfile$/;

/** The renames that turn the template's text into the new service's. */
function renames(service: Required<ServiceOptions>, scopes: GeneratedService["scopes"]) {
  const { name, audience, port } = service;
  return (text: string) =>
    text
      .replaceAll("@repo/api", `@repo/${name}`)
      .replaceAll("apps/api/", `apps/${name}/`)
      .replaceAll("/prod/api", `/prod/${name}`)
      .replaceAll(TEMPLATE_AUDIENCE, audience)
      .replaceAll(TEMPLATE_SCOPES.read, scopes.read)
      .replaceAll(TEMPLATE_SCOPES.write, scopes.write)
      .replaceAll(TEMPLATE_SCOPES.admin, scopes.admin)
      .replaceAll('realm="api"', `realm="${name}"`)
      .replaceAll('REALM = "api"', `REALM = "${name}"`)
      .replaceAll('service: "api"', `service: "${name}"`)
      .replaceAll('workspaceProject("api"', `workspaceProject("${name}"`)
      .replaceAll('workspaceProject("api-postgres"', `workspaceProject("${name}-postgres"`)
      .replace(new RegExp(`\\b${TEMPLATE_PORT}\\b`, "g"), String(port));
}

/**
 * Tokens that tests sign with the dev issuer's key (`issuer.signAccessToken(claims)`) default to
 * the tenant's first API, which is `apps/api`'s. In the new service's tests they must name its
 * audience, unless the claims already give an `aud`.
 */
function addAudienceToSignedTokens(text: string, audience: string): string {
  const aud = `aud: ${JSON.stringify(audience)}`;
  return text
    .replaceAll("signAccessToken()", `signAccessToken({ ${aud} })`)
    .replace(/signAccessToken\(\{([^{}]*)\}/g, (call, body: string) =>
      /\baud\s*:/.test(body)
        ? call
        : `signAccessToken({ ${aud}${body.trim() === "" ? "" : `, ${body.trim()}`} }`,
    );
}

/**
 * Checks the name and the audience and settles the port, client and scopes of a new service,
 * without writing anything. Throws when the name or the audience cannot be used.
 */
export function planService(root: string, options: ServiceOptions): ServicePlan {
  const nameProblem = checkServiceName(root, options.name);
  if (nameProblem) throw new Error(`name: ${nameProblem}`);
  const audienceProblem = checkAudience(root, options.audience);
  if (audienceProblem) throw new Error(`audience: ${audienceProblem}`);
  const { name, audience } = options;
  const client = { clientId: `${name}-dev-client`, clientSecret: `${name}-dev-client-secret` };
  if (readTenant(root).clients.some((c) => c.clientId === client.clientId)) {
    throw new Error(`the dev tenant already has a client ${client.clientId}`);
  }
  return {
    name,
    audience,
    packageName: `@repo/${name}`,
    port: options.port ?? choosePort(root),
    scopes: { read: `read:${name}`, write: `write:${name}`, admin: `admin:${name}` },
    client,
  };
}

/** The commands that take a freshly generated service from files to an answered call. */
export function nextSteps(plan: ServicePlan): string[] {
  const url = `http://127.0.0.1:${plan.port}/trpc`;
  const token = `pnpm get-token --client ${plan.client.clientId} --audience ${plan.audience}`;
  return [
    "pnpm install",
    `pnpm --filter ${plan.packageName} test`,
    `pnpm --filter ${plan.packageName} dev   # ${url}`,
    `curl -H "Authorization: Bearer $(${token})" ${url}/whoami`,
  ];
}

/**
 * Creates `apps/<name>` from `apps/api`, registers the API (scopes `read:<name>`,
 * `write:<name>`) in the dev tenant with a client allowed both scopes (and grants the clients of
 * `apps/api` the matching rights), and formats what it wrote.
 * Throws before writing anything when the name or the audience cannot be used.
 */
export function generateService(root: string, options: ServiceOptions): GeneratedService {
  const plan = planService(root, options);
  const { name, audience, scopes, client } = plan;
  const tenant = readTenant(root);

  const templateDir = join(root, TEMPLATE_DIR);
  const dir = join(root, "apps", name);
  const rename = renames(plan, scopes);
  const files: string[] = [];
  for (const source of walk(templateDir)) {
    const target = join(dir, relative(templateDir, source));
    mkdirSync(join(target, ".."), { recursive: true });
    if (TEXT_FILE.test(source)) {
      let text = rename(readFileSync(source, "utf8"));
      if (/\.test\.ts$|[/\\]test[/\\]/.test(source)) {
        text = addAudienceToSignedTokens(text, audience);
      }
      writeFileSync(target, text);
    } else copyFileSync(source, target);
    files.push(relative(root, target));
  }

  const readme = join(dir, "README.md");
  if (existsSync(readme)) {
    const [title = "", ...rest] = readFileSync(readme, "utf8").split("\n");
    const origin = `Generated from \`${TEMPLATE_DIR}\` by \`pnpm gen service\`: same structure, its own audience (\`${audience}\`), scopes (\`${scopes.read}\`, \`${scopes.write}\`, \`${scopes.admin}\`), port (${plan.port}) and migrations (\`drizzle/\`); give it a database of its own (\`DATABASE_URL\`, or PGlite in its \`.data\`).`;
    writeFileSync(readme, [title, "", origin, ...rest].join("\n"));
  }

  registerInTenant(root, tenant, { audience, name, scopes, client });
  files.push(TENANT_FILE);

  // The renamed text can change line lengths; the repository's formatter settles them.
  execFileSync(
    join(root, "node_modules/.bin/biome"),
    ["check", "--write", `apps/${name}`, TENANT_FILE],
    {
      cwd: root,
      stdio: "pipe",
    },
  );

  return { ...plan, dir, files };
}

function registerInTenant(
  root: string,
  tenant: TenantFile,
  service: {
    audience: string;
    name: string;
    scopes: GeneratedService["scopes"];
    client: GeneratedService["client"];
  },
) {
  // New entries copy the template API's and the dev writer's settings (lifetime, RBAC, profile,
  // auth method), so they follow whatever shape the tenant file has.
  const templateApi = tenant.apis.find((api) => api.identifier === TEMPLATE_AUDIENCE) ?? {};
  const templateClient = tenant.clients.find((c) => c.clientId === "dev-writer") ?? {};
  const scopes = [service.scopes.read, service.scopes.write];
  tenant.apis.push({
    ...templateApi,
    identifier: service.audience,
    name: `${service.name} API`,
    scopes: [...scopes, service.scopes.admin, AUDIT_SCOPE],
  });
  // Clients that may call the template API get the same rights on the new one, so the dev
  // reader and writer (and the template's tests, which use them) work against it unchanged.
  const renamed: Record<string, string> = {
    [TEMPLATE_SCOPES.read]: service.scopes.read,
    [TEMPLATE_SCOPES.write]: service.scopes.write,
    [TEMPLATE_SCOPES.admin]: service.scopes.admin,
    [AUDIT_SCOPE]: AUDIT_SCOPE,
  };
  const renameScope = (scope: string) => renamed[scope];
  for (const client of tenant.clients) {
    const grants = Array.isArray(client.grants) ? (client.grants as TenantGrant[]) : [];
    const template = grants.find((grant) => grant.audience === TEMPLATE_AUDIENCE);
    if (template === undefined) continue;
    const mapped = template.scopes.map(renameScope).filter((s) => s !== undefined);
    grants.push({ ...template, audience: service.audience, scopes: mapped });
  }
  tenant.clients.push({
    ...templateClient,
    clientId: service.client.clientId,
    name: `Development client of ${service.name}`,
    clientSecret: service.client.clientSecret,
    grants: [{ audience: service.audience, scopes }],
  });
  // Written compact: the formatter then lays it out exactly as the rest of the file.
  writeFileSync(join(root, TENANT_FILE), `${JSON.stringify(tenant)}\n`);
}
