import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuthorizedFetch, createClientCredentialsClient } from "@repo/auth";
import { type RunningIssuer, startIssuer } from "@repo/issuer";
import { checkProof } from "@repo/test-utils";
import { afterAll, beforeAll, expect, it } from "vitest";
import { apiTransport } from "./api-client";

// The web server's transport with DPoP: a GET whose connection is reset before any answer is sent
// once more, signed once more, so the API sees a new proof (a new jti) and not a replay.
const AUDIENCE = "https://api.example.local";
let issuer: RunningIssuer;
let keysDir: string;

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "web-dpop-transport-"));
  issuer = await startIssuer({ port: 0, quiet: true, keysDir });
});
afterAll(async () => {
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

it("signs a request resent after a connection reset with a new proof", async () => {
  const proofs: { jti: string; jkt: string }[] = [];
  let base = "";
  // Resets the first connection mid-request, as a restarting API does; answers the second.
  const server = createServer(async (req, res) => {
    const checked = await checkProof(String(req.headers.dpop), {
      method: req.method ?? "GET",
      url: `${base}${req.url}`,
      accessToken: String(req.headers.authorization).replace(/^DPoP /, ""),
    });
    proofs.push({ jti: checked.jti, jkt: checked.jkt });
    if (proofs.length === 1) {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokens = createClientCredentialsClient({
    issuerBaseURL: issuer.issuer,
    clientId: "dev-dpop",
    clientSecret: "dev-dpop-secret",
    audience: AUDIENCE,
    dpop: true,
  });
  try {
    const send = apiTransport(fetch, (signed) => createAuthorizedFetch(tokens, { fetch: signed }));
    const response = await send(`${base}/trpc/whoami`);
    expect(response.status).toBe(200);
    expect(proofs).toHaveLength(2);
    expect(proofs[1]?.jti).not.toBe(proofs[0]?.jti);
    expect(proofs[1]?.jkt).toBe(await tokens.dpopKeyThumbprint());
    // One proof for the token request, one for each of the two sends.
    expect(tokens.stats().dpopProofs).toBe(3);
  } finally {
    await tokens.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
