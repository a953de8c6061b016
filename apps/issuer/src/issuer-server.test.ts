import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyOfTestKeys } from "../test/support/keys-dir.js";
import { type RunningIssuer, startIssuer } from "./issuer-server.js";
import { type TenantConfig, TenantError } from "./tenant.js";
import { TokenRequestError } from "./token-request.js";

const API = "https://api.example.local";
let dir: string;
let keysDir: string;
let issuer: RunningIssuer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "issuer-server-"));
  keysDir = await copyOfTestKeys();
});

afterEach(async () => {
  await issuer?.close();
  issuer = undefined;
  await rm(dir, { recursive: true, force: true });
  await rm(keysDir, { recursive: true, force: true });
});

const withClients = (...clientIds: string[]): TenantConfig => ({
  apis: [{ identifier: API, scopes: ["read:items"] }],
  clients: clientIds.map((clientId) => ({
    clientId,
    clientSecret: `${clientId}-secret`,
    grants: [{ audience: API, scopes: ["read:items"] }],
  })),
});

it("serves a client added to the tenant file without a restart", async () => {
  const tenantFile = join(dir, "tenant.json");
  await writeFile(tenantFile, JSON.stringify(withClients("first")));
  issuer = await startIssuer({ port: 0, keysDir, tenantFile, quiet: true });
  await expect(issuer.requestToken({ clientId: "first" })).resolves.toHaveProperty("access_token");

  await writeFile(tenantFile, JSON.stringify(withClients("first", "second")));
  const response = await fetch(issuer.tokenEndpoint, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: "second",
      client_secret: "second-secret",
      audience: API,
    }),
  });
  expect(response.status).toBe(200);
  expect(issuer.tenant.clients.map((client) => client.clientId)).toEqual(["first", "second"]);
});

it("keeps the last valid tenant when the file is broken", async () => {
  const tenantFile = join(dir, "tenant.json");
  await writeFile(tenantFile, JSON.stringify(withClients("first")));
  issuer = await startIssuer({ port: 0, keysDir, tenantFile, quiet: true });
  await writeFile(tenantFile, '{ "apis": [');
  await expect(issuer.requestToken({ clientId: "first" })).resolves.toHaveProperty("access_token");
});

it("refuses at start a client whose keys oidc-provider cannot use, naming it", async () => {
  const tenant = withClients("a");
  tenant.clients.push({ clientId: "bad", jwks: { keys: [{ kty: "EC", x: "1" }] } });
  const start = startIssuer({ port: 0, keysDir, tenant, quiet: true });
  await expect(start).rejects.toBeInstanceOf(TenantError);
  await expect(start).rejects.toThrow(/clients\[1\]/);
});

it("reports a token endpoint refusal with its status and code", async () => {
  issuer = await startIssuer({ port: 0, keysDir, tenant: withClients("a") });
  const refusal = issuer.requestToken({ clientId: "a", audience: "https://elsewhere" });
  await expect(refusal).rejects.toBeInstanceOf(TokenRequestError);
  await expect(refusal).rejects.toMatchObject({ status: 403, error: "access_denied" });
});

it("frees its port on close so that it can start again on it", async () => {
  issuer = await startIssuer({ port: 0, keysDir, tenant: withClients("a") });
  const { port } = issuer;
  await issuer.close();
  issuer = await startIssuer({ port, keysDir, tenant: withClients("a") });
  expect(issuer.port).toBe(port);
});

describe("the root page", () => {
  it("lists the endpoints and the dev clients with their grants, pointing at the file for secrets", async () => {
    issuer = await startIssuer({ port: 0, keysDir, quiet: true });
    const response = await fetch(issuer.issuer, { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await response.text();
    expect(page).toContain(`${issuer.issuer}.well-known/openid-configuration`);
    expect(page).toContain(issuer.jwksUri);
    expect(page).toContain(issuer.tokenEndpoint);
    expect(page).toContain("<code>dev-reader</code>");
    expect(page).toContain(
      "<code>https://api.example.local</code>: <code>read:items</code> <code>write:items</code> <code>admin:items</code> <code>read:audit</code>",
    );
    expect(page).toContain("apps/issuer/tenant.dev.json");
    expect(page).toContain(`ISSUER_PORT=${issuer.port} pnpm get-token --client dev-reader`);
    for (const client of issuer.tenant.clients) {
      expect(client.clientSecret).toBeDefined();
      expect(page).not.toContain(client.clientSecret);
    }
  });

  it("shows no secret of another tenant and escapes what the tenant file says", async () => {
    const tenant = withClients("<b>first</b>");
    issuer = await startIssuer({ port: 0, keysDir, tenant, quiet: true });
    const page = await (await fetch(issuer.issuer)).text();
    expect(page).toContain("<code>&lt;b&gt;first&lt;/b&gt;</code>");
    expect(page).not.toContain("<b>first</b>");
    expect(page).not.toContain("-secret");
    expect(page).toContain("its secrets are not shown");
  });

  it("answers HEAD without a body and keeps JSON answers for paths that are not endpoints", async () => {
    issuer = await startIssuer({ port: 0, keysDir, tenant: withClients("a"), quiet: true });
    const head = await fetch(issuer.issuer, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const missing = await fetch(new URL("nothing-here", issuer.issuer));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found" });
  });
});

it("names itself by the public URL it is given, which clients reach it by", async () => {
  issuer = await startIssuer({
    port: 0,
    keysDir,
    tenant: withClients("a"),
    quiet: true,
    publicUrl: "http://issuer.internal:4400",
  });
  expect(issuer.issuer).toBe("http://issuer.internal:4400/");
  // As a client in a container network asks: by the public name, here routed to the real port.
  const discovery = await new Promise<Record<string, string>>((done, fail) => {
    const request = get(
      {
        host: "127.0.0.1",
        port: issuer?.port,
        path: "/.well-known/openid-configuration",
        headers: { host: "issuer.internal:4400" },
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => done(JSON.parse(body)));
      },
    );
    request.on("error", fail);
  });
  expect(discovery).toMatchObject({
    issuer: "http://issuer.internal:4400/",
    token_endpoint: "http://issuer.internal:4400/oauth/token",
    jwks_uri: "http://issuer.internal:4400/.well-known/jwks.json",
  });
  expect(decodeJwt(await issuer.signAccessToken()).iss).toBe("http://issuer.internal:4400/");
});
