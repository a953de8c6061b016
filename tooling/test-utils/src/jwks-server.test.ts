import { afterEach, describe, expect, it } from "vitest";
import { JWKS_SERVER_PATHS, type JwksServer, startJwksServer } from "./jwks-server.js";

const KEY = { kty: "oct", kid: "k1" };
const servers: JwksServer[] = [];

async function server(keys: readonly object[] = [KEY]) {
  const started = await startJwksServer(keys);
  servers.push(started);
  return started;
}

afterEach(async () => {
  for (const each of servers.splice(0)) await each.close();
});

const outcome = async (url: string) => {
  try {
    const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(2_000) });
    return { status: res.status, location: res.headers.get("location"), body: await res.text() };
  } catch (error) {
    return { error: (error as Error).name };
  }
};

describe("startJwksServer", () => {
  it("serves discovery that points at its JWKS, and the keys, counting every request", async () => {
    const jwks = await server();
    expect(jwks.issuer).toBe(`${jwks.origin}/`);
    const discovery = await (await fetch(`${jwks.origin}${JWKS_SERVER_PATHS.discovery}`)).json();
    expect(discovery).toEqual({ issuer: jwks.issuer, jwks_uri: jwks.jwksUri });
    const metadata = await fetch(`${jwks.origin}/.well-known/oauth-authorization-server`);
    expect(await metadata.json()).toEqual(discovery);
    expect(await (await fetch(jwks.jwksUri)).json()).toEqual({ keys: [KEY] });
    expect((await fetch(`${jwks.origin}/elsewhere`)).status).toBe(404);
    expect(jwks.count(JWKS_SERVER_PATHS.jwks)).toBe(1);
    expect(jwks.count(JWKS_SERVER_PATHS.discovery)).toBe(1);
    expect(jwks.total()).toBe(4);
  });

  it("publishes rotated keys, an overridden discovery document and keys moved to another path", async () => {
    const jwks = await server();
    jwks.setKeys([{ kty: "oct", kid: "k2" }]);
    expect(await (await fetch(jwks.jwksUri)).json()).toEqual({ keys: [{ kty: "oct", kid: "k2" }] });
    const moved = jwks.serveJwksAt("/moved/jwks.json", [KEY]);
    expect(moved).toBe(`${jwks.origin}/moved/jwks.json`);
    expect(await (await fetch(moved)).json()).toEqual({ keys: [KEY] });
    jwks.setDiscoveryDocument({ issuer: "https://elsewhere.example/", jwks_uri: moved });
    const discovery = await fetch(`${jwks.origin}${JWKS_SERVER_PATHS.discovery}`);
    expect(await discovery.json()).toEqual({
      issuer: "https://elsewhere.example/",
      jwks_uri: moved,
    });
  });

  it("fails, lies and redirects on demand, on the JWKS and on discovery separately", async () => {
    const jwks = await server();
    const discoveryUrl = `${jwks.origin}${JWKS_SERVER_PATHS.discovery}`;
    jwks.setBehaviour({ kind: "status", status: 503 });
    expect(await outcome(jwks.jwksUri)).toMatchObject({ status: 503, body: "failure" });
    expect(await outcome(discoveryUrl)).toMatchObject({ status: 200 });
    jwks.setBehaviour({ kind: "body", body: "<html>", contentType: "text/html" });
    expect(await outcome(jwks.jwksUri)).toMatchObject({ status: 200, body: "<html>" });
    jwks.setBehaviour({ kind: "redirect", location: "https://attacker.example/jwks" });
    expect(await outcome(jwks.jwksUri)).toMatchObject({
      status: 302,
      location: "https://attacker.example/jwks",
    });
    jwks.setBehaviour({ kind: "reset" });
    expect(await outcome(jwks.jwksUri)).toEqual({ error: "TypeError" });
    jwks.setBehaviour({ kind: "huge", bytes: 200_000, declareLength: true });
    const huge = await fetch(jwks.jwksUri);
    expect(huge.headers.get("content-length")).toBe("200000");
    expect((await huge.arrayBuffer()).byteLength).toBe(200_000);
    jwks.setDiscoveryBehaviour({ kind: "status", status: 500 });
    expect(await outcome(discoveryUrl)).toMatchObject({ status: 500 });
  });

  it("answers late with `delay`, and holds hanging answers until it closes", async () => {
    const jwks = await server();
    jwks.setBehaviour({ kind: "delay", ms: 20 });
    expect(await (await fetch(jwks.jwksUri)).json()).toEqual({ keys: [KEY] });
    jwks.setBehaviour({ kind: "hang" });
    const hung = fetch(jwks.jwksUri).then(
      () => "answered",
      () => "dropped",
    );
    await jwks.waitForRequests(JWKS_SERVER_PATHS.jwks, 2);
    jwks.setBehaviour({ kind: "hang-body" });
    const headersOnly = await fetch(jwks.jwksUri);
    const body = headersOnly.text().then(
      () => "ended",
      () => "dropped",
    );
    await jwks.close();
    expect([await hung, await body]).toEqual(["dropped", "dropped"]);
  });

  it("resolves waitForRequests once a path has had that many requests", async () => {
    const jwks = await server();
    let done = false;
    const waiting = jwks.waitForRequests(JWKS_SERVER_PATHS.jwks, 2).then(() => {
      done = true;
    });
    await fetch(jwks.jwksUri);
    expect(done).toBe(false);
    await fetch(jwks.jwksUri);
    await waiting;
    expect(done).toBe(true);
  });
});
