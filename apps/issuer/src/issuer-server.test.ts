import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
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
