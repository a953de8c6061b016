import { afterAll, beforeAll, expect, test } from "vitest";
import { createVerifierFixture, type VerifierFixture } from "../test-support/fixture.js";
import { generateTestKey } from "../test-support/tokens.js";

const key = generateTestKey("k1");
let fx: VerifierFixture;
beforeAll(async () => {
  fx = await createVerifierFixture([key]);
});
afterAll(() => fx.close());

test("verifies", async () => {
  const token = fx.token(key);
  const claims = await fx.verifier.verify(token);
  expect(claims.sub).toBe("client-1@clients");
  await fx.verifier.verify(token);
  expect(fx.events.map((e) => e.type)).toMatchInlineSnapshot(`
    [
      "jwks_fetch_succeeded",
      "jwks_fetch_succeeded",
      "keys_state_changed",
      "token_verified",
      "token_verified",
    ]
  `);
  expect(fx.verifier.health()).toMatchObject({ state: "fresh", keys: 1 });
});
