import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivatePostgres, startPrivatePostgres } from "./private-postgres.js";

let postgres: PrivatePostgres;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
});
afterAll(() => postgres?.destroy());

describe("startPrivatePostgres", () => {
  it("serves a private cluster on loopback that keeps data across a crash and a restart", () => {
    expect(postgres.url).toBe(`postgres://postgres@127.0.0.1:${postgres.port}/postgres`);
    expect(postgres.port).not.toBe(5432);
    const url = postgres.createDatabase("kept");
    expect(url).toBe(postgres.urlFor("kept"));
    postgres.psql("create table t (n int); insert into t values (42)", "kept");
    postgres.stop("immediate");
    expect(() => postgres.psql("select 1")).toThrow();
    postgres.start();
    expect(postgres.psql("select n from t", "kept").trim()).toBe("42");
  });

  it("refuses a database name that is not plain", () => {
    expect(() => postgres.createDatabase("x; drop database kept")).toThrow(/not a plain/);
  });
});
