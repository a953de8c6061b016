import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { devTenant } from "./dev-tenant.js";
import { clientAuthMethod, loadTenant, parseTenant, TenantError } from "./tenant.js";

const API = "https://api.example.local";

function issuesOf(input: unknown): readonly string[] {
  try {
    parseTenant(input);
  } catch (error) {
    expect(error).toBeInstanceOf(TenantError);
    return (error as TenantError).issues;
  }
  throw new Error("the tenant was accepted");
}

const api = { identifier: API, scopes: ["read:items"] };
const client = {
  clientId: "c",
  clientSecret: "s",
  grants: [{ audience: API, scopes: ["read:items"] }],
};

describe("the dev tenant", () => {
  it("seeds the example API with RBAC and the reader, writer, DPoP and admin clients", () => {
    expect(devTenant.apis).toEqual([
      expect.objectContaining({
        identifier: API,
        scopes: ["read:items", "write:items", "admin:items", "read:audit"],
        rbac: true,
        tokenLifetime: 86_400,
      }),
    ]);
    const grants = Object.fromEntries(
      devTenant.clients.map((entry) => [entry.clientId, entry.grants[0]?.scopes]),
    );
    expect(grants).toEqual({
      "dev-reader": ["read:items"],
      "dev-writer": ["read:items", "write:items"],
      "dev-dpop": ["read:items", "write:items"],
      "dev-admin": ["read:items", "write:items", "admin:items", "read:audit"],
    });
    expect(devTenant.clients.map((entry) => entry.clientSecret)).toEqual([
      "dev-reader-secret",
      "dev-writer-secret",
      "dev-dpop-secret",
      "dev-admin-secret",
    ]);
    expect(devTenant.clients.map((entry) => entry.dpopBoundAccessTokens)).toEqual([
      false,
      false,
      true,
      false,
    ]);
  });
});

describe("parseTenant", () => {
  it("applies Auth0's defaults", () => {
    const tenant = parseTenant({ apis: [api], clients: [client] });
    expect(tenant.apis[0]).toMatchObject({
      tokenLifetime: 86_400,
      rbac: false,
      tokenProfile: "auth0",
    });
    expect(clientAuthMethod(tenant.clients[0] as never)).toBe("client_secret_post");
  });

  it.each([
    [
      "a grant for an unknown API",
      { apis: [api], clients: [{ ...client, grants: [{ audience: "https://nope", scopes: [] }] }] },
      "clients[0].grants[0].audience",
    ],
    [
      "a granted scope the API lacks",
      { apis: [api], clients: [{ ...client, grants: [{ audience: API, scopes: ["x:y"] }] }] },
      "clients[0].grants[0].scopes[0]",
    ],
    [
      "a secret client without a secret",
      { apis: [api], clients: [{ clientId: "c", grants: [] }] },
      "clients[0].clientSecret",
    ],
    [
      "private_key_jwt without keys",
      { apis: [api], clients: [{ clientId: "c", authMethod: "private_key_jwt", grants: [] }] },
      "clients[0].jwks",
    ],
    [
      "a private key among a client's keys",
      { apis: [api], clients: [{ clientId: "c", jwks: { keys: [{ kty: "EC", d: "secret" }] } }] },
      "clients[0].jwks.keys[0]",
    ],
    ["a duplicate client", { apis: [api], clients: [client, client] }, "clients[1].clientId"],
    ["a duplicate API", { apis: [api, api], clients: [] }, "apis[1].identifier"],
    ["a misspelt field", { apis: [{ ...api, scope: ["read:items"] }], clients: [] }, "apis[0]"],
    [
      "a negative token lifetime",
      { apis: [{ ...api, tokenLifetime: -1 }], clients: [] },
      "apis[0].tokenLifetime",
    ],
    [
      "a scope with a space",
      { apis: [{ ...api, scopes: ["read items"] }], clients: [] },
      "apis[0].scopes[0]",
    ],
    ["no clients list", { apis: [api] }, "clients"],
  ])("names the field for %s", (_case, input, path) => {
    expect(issuesOf(input).some((issue) => issue.startsWith(`${path}:`))).toBe(true);
  });
});

describe("loadTenant", () => {
  it("names the file and the problem", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tenant-"));
    try {
      const path = join(dir, "tenant.json");
      await writeFile(path, "{ not json");
      expect(() => loadTenant(path)).toThrow(TenantError);
      expect(() => loadTenant(path)).toThrow(path);
      expect(() => loadTenant(join(dir, "missing.json"))).toThrow(/ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
