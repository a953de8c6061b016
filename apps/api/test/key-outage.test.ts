import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiServer } from "../src/server.js";
import { type KeyServer, startKeyServer } from "./fixtures/key-server.js";
import { AUDIENCE, createSigner, m2mClaims, type Signer } from "./fixtures/signer.js";
import { callTrpc, startTestApi } from "./fixtures/test-api.js";

// The JWKS endpoint fails after the keys were loaded. Time is driven by an injected clock: keys
// stay fresh for 60 s, then serve stale for 60 s more, then the API must answer 503, never 401.
let signer: Signer;
let keys: KeyServer;
let api: ApiServer;
let offsetMs = 0;
const now = () => Date.now() + offsetMs;

const authorization = async () => {
  const at = Math.floor(now() / 1000);
  return `Bearer ${await signer.sign(m2mClaims(keys.issuer, { iat: at, exp: at + 3600 }))}`;
};
const healthState = async () =>
  ((await callTrpc(api, "health")).body as { result: { data: { status: string } } }).result.data
    .status;

beforeAll(async () => {
  signer = await createSigner();
  keys = await startKeyServer(() => [signer.publicJwk]);
  ({ api } = await startTestApi(
    { ISSUER_BASE_URL: keys.issuer, AUDIENCE, JWKS_CACHE_MAX_AGE: "60", JWKS_MAX_STALE: "60" },
    { now },
  ));
});
afterAll(async () => {
  await api?.close();
  await keys?.close();
});

describe("JWKS outage after warm-up", () => {
  it("serves from stale keys within the bound, then 503 with Retry-After, then recovers", async () => {
    expect((await callTrpc(api, "whoami", { authorization: await authorization() })).status).toBe(
      200,
    );
    keys.setDown(true);

    offsetMs = 90_000;
    expect(await healthState()).toBe("degraded");
    expect((await callTrpc(api, "whoami", { authorization: await authorization() })).status).toBe(
      200,
    );
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);

    offsetMs = 130_000;
    const down = await callTrpc(api, "whoami", { authorization: await authorization() });
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(down.headers.get("www-authenticate")).toBeNull();
    expect(await healthState()).toBe("unavailable");
    expect((await fetch(`${api.url}/readyz`)).status).toBe(503);

    keys.setDown(false);
    offsetMs = 131_000;
    expect((await callTrpc(api, "whoami", { authorization: await authorization() })).status).toBe(
      200,
    );
    expect(await healthState()).toBe("ok");
  });
});
