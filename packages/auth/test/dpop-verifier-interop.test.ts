import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningIssuer, startIssuer } from "@repo/issuer";
import { claimsFor, generateTestKey, signToken, startJwksServer } from "@repo/test-utils";
import * as dpop from "dpop";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAuthError } from "../src/errors.js";
import { buildAuthErrorHeaders } from "../src/http.js";
import { createClientCredentialsClient } from "../src/token-client/index.js";
import { createAccessTokenVerifier } from "../src/verifier/create-access-token-verifier.js";
import type { AccessTokenVerifier, DpopVerifierOptions } from "../src/verifier/types.js";

const AUDIENCE = "https://api.example.local";
let issuer: RunningIssuer;
let keysDir: string;

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "auth-dpop-verifier-"));
  issuer = await startIssuer({ port: 0, quiet: true, keysDir });
});

afterAll(async () => {
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

/**
 * A resource server on 127.0.0.1 whose only auth is `verifier.authenticateRequest`: it answers the
 * claims' `sub` and the DPoP binding, or the verifier's error with its headers.
 */
async function startResourceServer(verifier: AccessTokenVerifier) {
  let base = "";
  const server: Server = createServer(async (req, res) => {
    try {
      const claims = await verifier.authenticateRequest({
        method: req.method ?? "GET",
        url: new URL(req.url ?? "/", base),
        headers: req.headers,
      });
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (claims.dpop?.nextNonce) headers["dpop-nonce"] = claims.dpop.nextNonce;
      res.writeHead(200, headers);
      res.end(JSON.stringify({ sub: claims.sub, dpop: claims.dpop ?? null }));
    } catch (error) {
      if (!isAuthError(error)) throw error;
      res.writeHead(error.status, buildAuthErrorHeaders(error, { dpop: verifier.dpopChallenge }));
      res.end(JSON.stringify({ code: error.code }));
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function issuerVerifier(dpopOptions: DpopVerifierOptions = {}) {
  return createAccessTokenVerifier({
    issuerBaseURL: issuer.issuer,
    audience: AUDIENCE,
    dpop: dpopOptions,
  });
}

describe("the verifier with the token client and the development issuer", () => {
  it("accepts the token client's bound tokens and proofs over HTTP, and refuses them as Bearer", async () => {
    const verifier = issuerVerifier();
    const server = await startResourceServer(verifier);
    const tokens = createClientCredentialsClient({
      issuerBaseURL: issuer.issuer,
      clientId: "dev-dpop",
      clientSecret: "dev-dpop-secret",
      audience: AUDIENCE,
      dpop: true,
    });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await tokens.fetch(`${server.url}/items?page=${i}`);
        expect(response.status).toBe(200);
        const body = (await response.json()) as { sub: string; dpop: { jkt: string } };
        expect(body.sub).toBe("dev-dpop@clients");
        expect(body.dpop.jkt).toBe(await tokens.dpopKeyThumbprint());
      }
      const asBearer = await fetch(`${server.url}/items`, {
        headers: { authorization: `Bearer ${await tokens.getToken()}` },
      });
      expect(asBearer.status).toBe(401);
      expect(asBearer.headers.get("www-authenticate")).toMatch(
        /^Bearer realm="api", error="invalid_token"/,
      );
    } finally {
      await tokens.close();
      await server.close();
      verifier.close();
    }
  });

  it("gets the client through a nonce challenge (one retry), and the nonce is then reused", async () => {
    const verifier = issuerVerifier({ nonce: { secret: "x".repeat(32) } });
    const server = await startResourceServer(verifier);
    const tokens = createClientCredentialsClient({
      issuerBaseURL: issuer.issuer,
      clientId: "dev-dpop",
      clientSecret: "dev-dpop-secret",
      audience: AUDIENCE,
      dpop: true,
    });
    try {
      expect((await tokens.fetch(`${server.url}/a`)).status).toBe(200);
      expect((await tokens.fetch(`${server.url}/b`)).status).toBe(200);
      expect(tokens.stats().dpopNonceRetries).toBe(1);
    } finally {
      await tokens.close();
      await server.close();
      verifier.close();
    }
  });
});

describe("proofs made by the `dpop` package, an implementation written elsewhere", () => {
  const issuerKey = generateTestKey("issuer", { alg: "RS256" });

  it.each(["ES256", "Ed25519", "RS256", "PS256"] as const)(
    "accepts a %s proof from the dpop package over HTTP",
    async (alg) => {
      const jwks = await startJwksServer([issuerKey.publicJwk]);
      const verifier = createAccessTokenVerifier({
        issuerBaseURL: jwks.issuer,
        audience: AUDIENCE,
      });
      const server = await startResourceServer(verifier);
      try {
        const keyPair = await dpop.generateKeyPair(alg);
        const jkt = await dpop.calculateThumbprint(keyPair.publicKey);
        const token = signToken(issuerKey, {
          payload: claimsFor(jwks.issuer, AUDIENCE, Math.floor(Date.now() / 1000), {
            cnf: { jkt },
          }),
        });
        const url = `${server.url}/trpc/whoami`;
        const proof = await dpop.generateProof(keyPair, url, "GET", undefined, token);
        const response = await fetch(`${url}?batch=1`, {
          headers: { authorization: `DPoP ${token}`, dpop: proof },
        });
        expect(response.status).toBe(200);
        expect(((await response.json()) as { dpop: { jkt: string } }).dpop.jkt).toBe(jkt);
        const replay = await fetch(url, {
          headers: { authorization: `DPoP ${token}`, dpop: proof },
        });
        expect(replay.status).toBe(401);
        expect(replay.headers.get("www-authenticate")).toMatch(/error="invalid_dpop_proof"/);
      } finally {
        await server.close();
        verifier.close();
        await jwks.close();
      }
    },
  );
});
