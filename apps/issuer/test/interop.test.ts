// Interop with clients nobody here wrote: openid-client gets tokens the way an application would,
// and jose verifies them the way an API would.
import { rm } from "node:fs/promises";
import {
  type CryptoKey,
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
} from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningIssuer, startIssuer } from "../src/index.js";
import { copyOfTestKeys } from "./support/keys-dir.js";

const API = "https://api.example.local";
const PROFILED_API = "https://profiled.example.local";

let issuer: RunningIssuer;
let keysDir: string;
let agentKey: CryptoKey;

beforeAll(async () => {
  keysDir = await copyOfTestKeys();
  const agent = await generateKeyPair("ES256");
  agentKey = agent.privateKey;
  const publicJwk = { ...(await exportJWK(agent.publicKey)), kty: "EC", alg: "ES256", use: "sig" };
  issuer = await startIssuer({
    port: 0,
    keysDir,
    quiet: true,
    tenant: {
      apis: [
        { identifier: API, scopes: ["read:items", "write:items"], rbac: true },
        {
          identifier: PROFILED_API,
          scopes: ["read:reports"],
          tokenLifetime: 300,
          tokenProfile: "rfc9068",
        },
      ],
      clients: [
        {
          clientId: "writer",
          clientSecret: "writer-secret",
          grants: [
            { audience: API, scopes: ["read:items", "write:items"] },
            { audience: PROFILED_API, scopes: ["read:reports"] },
          ],
        },
        {
          clientId: "basic-reader",
          clientSecret: "basic-reader-secret",
          authMethod: "client_secret_basic",
          grants: [{ audience: API, scopes: ["read:items"] }],
        },
        {
          clientId: "agent",
          jwks: { keys: [publicJwk] },
          grants: [{ audience: API, scopes: ["read:items"] }],
        },
      ],
    },
  });
});

afterAll(async () => {
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

function discover(clientId: string, auth: client.ClientAuth) {
  return client.discovery(new URL(issuer.issuer), clientId, undefined, auth, {
    execute: [client.allowInsecureRequests],
  });
}

function verify(token: string, audience = API, typ?: string) {
  const jwks = createRemoteJWKSet(new URL(issuer.jwksUri));
  return jwtVerify(token, jwks, {
    issuer: issuer.issuer,
    audience,
    algorithms: ["RS256"],
    ...(typ ? { typ } : {}),
  });
}

describe("jose", () => {
  it("verifies a token signed outside the endpoint and rejects an expired one", async () => {
    const token = await issuer.signAccessToken({ sub: "someone@clients" });
    expect((await verify(token)).payload.sub).toBe("someone@clients");
    const expired = await issuer.signAccessToken({ exp: Math.floor(Date.now() / 1000) - 60 });
    await expect(verify(expired)).rejects.toMatchObject({ code: "ERR_JWT_EXPIRED" });
  });
});

describe("openid-client", () => {
  it("discovers the Auth0-style endpoints", async () => {
    const config = await discover("writer", client.ClientSecretPost("writer-secret"));
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(issuer.issuer);
    expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(metadata.token_endpoint).toBe(`${issuer.issuer}oauth/token`);
    expect(metadata.jwks_uri).toBe(`${issuer.issuer}.well-known/jwks.json`);
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(["client_secret_post", "client_secret_basic", "private_key_jwt"]),
    );
  });

  it("publishes only public RS256 signing keys", async () => {
    const { keys } = (await (await fetch(issuer.jwksUri)).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", kid: expect.any(String) });
      for (const secret of ["d", "p", "q", "dp", "dq", "qi"])
        expect(key).not.toHaveProperty(secret);
    }
  });

  it("serves RFC 8414 metadata too", async () => {
    const response = await fetch(`${issuer.issuer}.well-known/oauth-authorization-server`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ issuer: issuer.issuer });
  });

  it("gets an Auth0-shaped token with audience and client_secret_post", async () => {
    const config = await discover("writer", client.ClientSecretPost("writer-secret"));
    const tokens = await client.clientCredentialsGrant(config, { audience: API });
    expect(tokens.token_type).toBe("bearer");
    expect(tokens.expires_in).toBe(86_400);
    expect(tokens.scope).toBe("read:items write:items");

    const { payload, protectedHeader } = await verify(tokens.access_token);
    expect(protectedHeader).toEqual({ alg: "RS256", typ: "JWT", kid: issuer.signingKid() });
    expect(payload).toEqual({
      iss: issuer.issuer,
      sub: "writer@clients",
      aud: API,
      iat: expect.any(Number),
      exp: (payload.iat ?? 0) + 86_400,
      scope: "read:items write:items",
      gty: "client-credentials",
      azp: "writer",
      permissions: ["read:items", "write:items"],
    });
  });

  it("gets a token with the standard resource parameter and client_secret_basic", async () => {
    const config = await discover("basic-reader", client.ClientSecretBasic("basic-reader-secret"));
    const tokens = await client.clientCredentialsGrant(config, { resource: API });
    const { payload } = await verify(tokens.access_token);
    expect(payload).toMatchObject({ sub: "basic-reader@clients", scope: "read:items" });
  });

  it("accepts client_secret_basic credentials from a client registered for post, as Auth0 does", async () => {
    const config = await discover("writer", client.ClientSecretBasic("writer-secret"));
    const tokens = await client.clientCredentialsGrant(config, {
      audience: API,
      scope: "read:items",
    });
    expect((await verify(tokens.access_token)).payload.scope).toBe("read:items");
  });

  it("authenticates a client with private_key_jwt", async () => {
    const config = await discover("agent", client.PrivateKeyJwt(agentKey));
    const tokens = await client.clientCredentialsGrant(config, { audience: API });
    const { payload } = await verify(tokens.access_token);
    expect(payload).toMatchObject({ sub: "agent@clients", azp: "agent", scope: "read:items" });
  });

  it("refuses a private_key_jwt assertion signed by another key", async () => {
    const stranger = await generateKeyPair("ES256");
    const config = await discover("agent", client.PrivateKeyJwt(stranger.privateKey));
    await expect(client.clientCredentialsGrant(config, { audience: API })).rejects.toMatchObject({
      error: "invalid_client",
      status: 401,
    });
  });

  it("issues RFC 9068 tokens for an API with that profile, with its own lifetime", async () => {
    const config = await discover("writer", client.ClientSecretPost("writer-secret"));
    const tokens = await client.clientCredentialsGrant(config, { audience: PROFILED_API });
    expect(tokens.expires_in).toBe(300);
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe("at+jwt");
    const { payload } = await verify(tokens.access_token, PROFILED_API, "at+jwt");
    expect(payload).toEqual({
      iss: issuer.issuer,
      sub: "writer@clients",
      aud: PROFILED_API,
      iat: expect.any(Number),
      exp: (payload.iat ?? 0) + 300,
      jti: expect.any(String),
      scope: "read:reports",
      gty: "client-credentials",
      client_id: "writer",
    });
  });
});
