import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiServer } from "../src/server.js";
import { type KeyServer, startKeyServer } from "./fixtures/key-server.js";
import { AUDIENCE, createSigner, m2mClaims, type Signer } from "./fixtures/signer.js";
import { callTrpc, startTestApi } from "./fixtures/test-api.js";

// Claims the issuer signed but no handler can use: whoami renders `exp` as a date, so an `exp`
// past the Date range used to throw inside the handler (500).
let signer: Signer;
let keys: KeyServer;
let api: ApiServer;

beforeAll(async () => {
  signer = await createSigner();
  keys = await startKeyServer(() => [signer.publicJwk]);
  ({ api } = await startTestApi({ ISSUER_BASE_URL: keys.issuer, AUDIENCE }));
});
afterAll(async () => {
  await api?.close();
  await keys?.close();
});

const whoami = async (claims: Parameters<typeof m2mClaims>[1]) =>
  callTrpc(api, "whoami", {
    authorization: `Bearer ${await signer.sign(m2mClaims(keys.issuer, claims))}`,
  });

describe("claims out of range are a bad token, not a server error", () => {
  it.each([
    ["exp past the Date range", { exp: 1e13 }],
    ["exp after year 9999", { exp: 253_402_300_800 }],
    ["a negative iat", { iat: -1 }],
  ])("%s: 401 invalid_token", async (_, claims) => {
    const answer = await whoami(claims);
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("the last second of year 9999 is still a date whoami can answer", async () => {
    const answer = await whoami({ exp: 253_402_300_799 });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      result: { data: { expiresAt: "9999-12-31T23:59:59.000Z" } },
    });
  });
});
