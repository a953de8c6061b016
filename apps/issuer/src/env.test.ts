import { expect, it } from "vitest";
import { readEnv } from "./env.js";

it("defaults to port 4400 and the dev tenant", () => {
  const defaults = { ISSUER_PORT: 4400, ISSUER_HTTPS: false, ISSUER_DPOP_NONCE: false };
  expect(readEnv({})).toEqual(defaults);
  expect(readEnv({ ISSUER_PORT: "" })).toEqual(defaults);
});

it("reads the port and the optional paths", () => {
  expect(
    readEnv({
      ISSUER_PORT: "4500",
      ISSUER_TENANT: "t.json",
      ISSUER_KEYS_DIR: "k",
      ISSUER_HTTPS: "1",
      ISSUER_DPOP_NONCE: "true",
    }),
  ).toEqual({
    ISSUER_PORT: 4500,
    ISSUER_TENANT: "t.json",
    ISSUER_KEYS_DIR: "k",
    ISSUER_HTTPS: true,
    ISSUER_DPOP_NONCE: true,
  });
});

it.each(["http", "70000", "-1", "44.5"])("names ISSUER_PORT when it is %s", (value) => {
  expect(() => readEnv({ ISSUER_PORT: value })).toThrow(/ISSUER_PORT/);
});

it.each(["ISSUER_HTTPS", "ISSUER_DPOP_NONCE"])("names %s when it is not a switch", (name) => {
  expect(() => readEnv({ [name]: "yes" })).toThrow(new RegExp(name));
});
