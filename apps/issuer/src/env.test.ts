import { expect, it } from "vitest";
import { readEnv } from "./env.js";

it("defaults to port 4400 and the dev tenant", () => {
  expect(readEnv({})).toEqual({ ISSUER_PORT: 4400, ISSUER_HTTPS: false });
  expect(readEnv({ ISSUER_PORT: "" })).toEqual({ ISSUER_PORT: 4400, ISSUER_HTTPS: false });
});

it("reads the port and the optional paths", () => {
  expect(
    readEnv({
      ISSUER_PORT: "4500",
      ISSUER_TENANT: "t.json",
      ISSUER_KEYS_DIR: "k",
      ISSUER_HTTPS: "1",
    }),
  ).toEqual({
    ISSUER_PORT: 4500,
    ISSUER_TENANT: "t.json",
    ISSUER_KEYS_DIR: "k",
    ISSUER_HTTPS: true,
  });
});

it.each(["http", "70000", "-1", "44.5"])("names ISSUER_PORT when it is %s", (value) => {
  expect(() => readEnv({ ISSUER_PORT: value })).toThrow(/ISSUER_PORT/);
});

it("names ISSUER_HTTPS when it is not a switch", () => {
  expect(() => readEnv({ ISSUER_HTTPS: "yes" })).toThrow(/ISSUER_HTTPS/);
});
