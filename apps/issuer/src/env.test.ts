import { expect, it } from "vitest";
import { readEnv } from "./env.js";

it("defaults to port 4400 and the dev tenant", () => {
  const defaults = {
    ISSUER_PORT: 4400,
    ISSUER_HOST: "127.0.0.1",
    ISSUER_HTTPS: false,
    ISSUER_DPOP_NONCE: false,
  };
  expect(readEnv({})).toEqual(defaults);
  expect(readEnv({ ISSUER_PORT: "" })).toEqual(defaults);
});

it("reads the port and the optional paths", () => {
  expect(
    readEnv({
      ISSUER_PORT: "4500",
      ISSUER_HOST: "0.0.0.0",
      ISSUER_PUBLIC_URL: "http://issuer:4500/",
      ISSUER_TENANT: "t.json",
      ISSUER_KEYS_DIR: "k",
      ISSUER_HTTPS: "1",
      ISSUER_DPOP_NONCE: "true",
    }),
  ).toEqual({
    ISSUER_PORT: 4500,
    ISSUER_HOST: "0.0.0.0",
    ISSUER_PUBLIC_URL: "http://issuer:4500/",
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

it("names ISSUER_PUBLIC_URL when it is not an http(s) URL", () => {
  expect(() => readEnv({ ISSUER_PUBLIC_URL: "issuer:4400" })).toThrow(/ISSUER_PUBLIC_URL/);
  expect(() => readEnv({ ISSUER_PUBLIC_URL: "ftp://issuer/" })).toThrow(/ISSUER_PUBLIC_URL/);
});
