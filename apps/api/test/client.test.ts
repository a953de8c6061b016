import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../src/db/open-database.js";
import type { AppRouter } from "../src/index.js";
import { openBrokenDatabase } from "./fixtures/broken-database.js";
import { type SignedApi, startSignedApi } from "./fixtures/signed-api.js";

let stack: SignedApi;
let broken: SignedApi;
let database: Database;

beforeAll(async () => {
  database = await openBrokenDatabase();
  [stack, broken] = await Promise.all([startSignedApi(), startSignedApi({ database })]);
});
afterAll(async () => {
  await stack?.close();
  await broken?.close();
  await database?.close();
});

const clientWith = (authorization?: string, api = stack) =>
  createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: api.api.trpcUrl,
        headers: () => (authorization === undefined ? {} : { authorization }),
      }),
    ],
  });

describe("typed client (httpBatchLink)", () => {
  it("gets the public result of a mixed batch and a typed 401 for the protected call", async () => {
    const client = clientWith();
    const [health, whoami] = await Promise.allSettled([
      client.health.query(),
      client.whoami.query(),
    ]);
    expect(health.status === "fulfilled" && health.value.jwks.state).toMatch(/fresh|down/);
    expect(whoami.status).toBe("rejected");
    const error = (whoami as PromiseRejectedResult).reason as TRPCClientError<AppRouter>;
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error.data).toMatchObject({ code: "UNAUTHORIZED", httpStatus: 401 });
    expect(error.data?.auth?.code).toBe("ERR_AUTH_MISSING_TOKEN");
  });

  it("calls protected procedures with a token and infers their outputs", async () => {
    const client = clientWith(await stack.bearer({ scope: "read:items write:items" }));
    const [me, item] = await Promise.all([
      client.whoami.query(),
      client.items.create.mutate({ name: "typed" }),
    ]);
    const sub: string = me.sub;
    const name: string = item.name;
    expect([sub, name]).toEqual(["test-client@clients", "typed"]);
    const page = await client.items.list.query({ limit: 1 });
    const cursor: string | null = page.nextCursor;
    expect([page.items, cursor]).toEqual([[item], null]);
  });

  it("answers an unexpected failure with a bare 500 and logs the detail", async () => {
    const client = clientWith(await broken.bearer({ scope: "read:items" }), broken);
    const error = await client.items.list.query().then(
      () => undefined,
      (reason: unknown) => reason as TRPCClientError<AppRouter>,
    );
    expect(error?.data?.httpStatus).toBe(500);
    expect(error?.message).toBe("Internal server error");
    expect(JSON.stringify(error)).not.toContain("relation");
    expect(broken.logs.lines.some((line) => line.includes('relation \\"items\\"'))).toBe(true);
  });
});
