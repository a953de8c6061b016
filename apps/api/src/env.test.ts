import { describe, expect, it } from "vitest";
import { parseEnv } from "./env.js";

describe("parseEnv", () => {
  it("defaults every value to the local development issuer", () => {
    const env = parseEnv({});
    expect(env).toEqual({
      ok: true,
      config: expect.objectContaining({
        issuerBaseURL: "http://127.0.0.1:4400/",
        audience: ["https://api.example.local"],
        algorithms: ["RS256"],
        port: 4000,
        host: "127.0.0.1",
      }),
    });
  });

  it("reads comma lists, a port of 0 and durations in seconds", () => {
    const env = parseEnv({
      AUDIENCE: "https://a.example, https://b.example",
      TOKEN_SIGNING_ALG: "RS256,ES256",
      PORT: "0",
      JWKS_URI: "https://tenant.example/.well-known/jwks.json",
      ISSUER: "https://tenant.example/",
      JWKS_COOLDOWN: "0.5",
      JWKS_MAX_STALE: "7200",
    });
    expect(env.ok && env.config).toMatchObject({
      audience: ["https://a.example", "https://b.example"],
      algorithms: ["RS256", "ES256"],
      port: 0,
      issuerBaseURL: undefined,
      jwksUri: "https://tenant.example/.well-known/jwks.json",
      issuer: "https://tenant.example/",
      jwksCooldown: 0.5,
      jwksMaxStale: 7200,
    });
  });

  it("takes audiences that are absolute URIs or plain identifiers, trimmed", () => {
    const env = parseEnv({ AUDIENCE: " https://api.example.com , urn:example:api,my-api " });
    expect(env.ok && env.config.audience).toEqual([
      "https://api.example.com",
      "urn:example:api",
      "my-api",
    ]);
  });

  it("refuses an audience that is no identifier, and empty entries in any list", () => {
    const message = (env: Record<string, string>) => {
      const parsed = parseEnv(env);
      return parsed.ok ? "" : parsed.message;
    };
    const loose = message({ AUDIENCE: "not a uri," });
    expect(loose).toContain(
      'AUDIENCE: has an empty entry (a stray comma?); "not a uri" is neither',
    );
    for (const audience of ["https://x y", "http://", "api example", ",https://a.example"]) {
      expect(message({ AUDIENCE: audience }), audience).toContain("AUDIENCE:");
    }
    expect(message({ TOKEN_SIGNING_ALG: "RS256,,ES256" })).toContain(
      "TOKEN_SIGNING_ALG: has an empty entry",
    );
  });

  it("reads which claims grant scopes, scope by default", () => {
    const scopesFrom = (value?: string) => {
      const env = parseEnv({ SCOPES_FROM: value });
      return env.ok ? env.config.scopesFrom : env.message;
    };
    expect(scopesFrom()).toBe("scope");
    expect(scopesFrom("permissions")).toBe("permissions");
    expect(scopesFrom("either")).toBe("either");
    expect(scopesFrom("perms")).toContain("SCOPES_FROM: must be one of scope, permissions, either");
  });

  it("reads the per-client stream cap, 100 by default", () => {
    const cap = (value?: string) => {
      const env = parseEnv({ MAX_STREAMS_PER_CLIENT: value });
      return env.ok ? env.config.maxStreamsPerClient : env.message;
    };
    expect(cap()).toBe(100);
    expect(cap("3")).toBe(3);
    for (const bad of ["0", "1.5", "many"]) {
      expect(cap(bad), bad).toContain("MAX_STREAMS_PER_CLIENT:");
    }
  });

  it("keeps items in PGlite unless DATABASE_URL names a Postgres", () => {
    expect(parseEnv({})).toMatchObject({
      ok: true,
      config: {
        databaseUrl: undefined,
        dataDir: undefined,
        databasePoolSize: 10,
        databaseStatementTimeout: 5,
      },
    });
    expect(
      parseEnv({
        DATABASE_URL: " postgres://items@db.internal:5432/items ",
        DATA_DIR: "memory://",
        DATABASE_POOL_SIZE: "20",
        DATABASE_STATEMENT_TIMEOUT: "0.5",
      }),
    ).toMatchObject({
      ok: true,
      config: {
        databaseUrl: "postgres://items@db.internal:5432/items",
        dataDir: "memory://",
        databasePoolSize: 20,
        databaseStatementTimeout: 0.5,
      },
    });
    const bad = parseEnv({
      DATABASE_URL: "mysql://db.internal/items",
      DATABASE_POOL_SIZE: "0",
      DATABASE_STATEMENT_TIMEOUT: "soon",
    });
    const message = bad.ok ? "" : bad.message;
    expect(message).toContain("DATABASE_URL: must be a postgres:// or postgresql:// URL");
    expect(message).toContain("DATABASE_POOL_SIZE: must be between 1 and 1000");
    expect(message).toContain("DATABASE_STATEMENT_TIMEOUT:");
  });

  it("reads the DPoP settings: mode allowed, no nonces, memory replay store by default", () => {
    const defaults = parseEnv({});
    expect(defaults.ok && defaults.config).toMatchObject({
      dpop: { mode: "allowed", nonce: false, nonceSecret: undefined, iatWindow: undefined },
      publicUrl: undefined,
      redisUrl: undefined,
    });
    const set = parseEnv({
      DPOP: "required",
      DPOP_NONCE: "on",
      DPOP_NONCE_SECRET: "x".repeat(32),
      DPOP_IAT_WINDOW: "30",
      PUBLIC_URL: "https://api.example.com/v1",
      REDIS_URL: "redis://127.0.0.1:6379",
    });
    expect(set.ok && set.config).toMatchObject({
      dpop: { mode: "required", nonce: true, nonceSecret: "x".repeat(32), iatWindow: 30 },
      publicUrl: "https://api.example.com/v1",
      redisUrl: "redis://127.0.0.1:6379",
    });
    const bad = parseEnv({
      DPOP: "sometimes",
      DPOP_NONCE: "yes",
      DPOP_NONCE_SECRET: "short",
      PUBLIC_URL: "api.example.com",
      REDIS_URL: "http://127.0.0.1:6379",
    });
    expect(bad.ok).toBe(false);
    const message = bad.ok ? "" : bad.message;
    for (const name of ["DPOP", "DPOP_NONCE", "DPOP_NONCE_SECRET", "PUBLIC_URL", "REDIS_URL"]) {
      expect(message).toContain(`  ${name}:`);
    }
    expect(message).not.toContain("short");
  });

  it("names every bad variable in one message", () => {
    const env = parseEnv({
      ISSUER_BASE_URL: "not a url",
      AUDIENCE: " , ",
      TOKEN_SIGNING_ALG: "RS256,HS256,none",
      PORT: "70000",
      JWKS_TIMEOUT: "-1",
      LOG_LEVEL: "loud",
    });
    expect(env.ok).toBe(false);
    const message = env.ok ? "" : env.message;
    for (const name of [
      "ISSUER_BASE_URL",
      "AUDIENCE",
      "TOKEN_SIGNING_ALG",
      "PORT",
      "JWKS_TIMEOUT",
      "LOG_LEVEL",
    ]) {
      expect(message).toContain(`${name}:`);
    }
    expect(message).toContain('"HS256", "none" not allowed');
  });

  it("requires the authorization server and the audience in production", () => {
    const env = parseEnv({ NODE_ENV: "production" });
    expect(env.ok ? "" : env.message).toMatch(/ISSUER_BASE_URL: .*\n {2}AUDIENCE: /);
    expect(
      parseEnv({
        NODE_ENV: "production",
        ISSUER_BASE_URL: "https://tenant.example/",
        AUDIENCE: "https://api.example",
      }).ok,
    ).toBe(true);
  });

  it("refuses plain http to a remote authorization server unless allowed", () => {
    const remote = { ISSUER_BASE_URL: "http://issuer.internal:4400/" };
    const refused = parseEnv(remote);
    expect(refused.ok ? "" : refused.message).toContain("ISSUER_BASE_URL: uses plain http");
    const allowed = parseEnv({ ...remote, ALLOW_INSECURE_HTTP: "true" });
    expect(allowed.ok && allowed.config.allowInsecureHttp).toBe(true);
    expect(parseEnv({ ISSUER_BASE_URL: "http://localhost:4400/" }).ok).toBe(true);
  });

  it("needs ISSUER with JWKS_URI when there is no discovery", () => {
    const env = parseEnv({ JWKS_URI: "http://127.0.0.1:1/jwks.json" });
    expect(env.ok ? "" : env.message).toContain("ISSUER:");
  });
});
