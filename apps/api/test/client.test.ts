import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "../src/index.js";
import { createMemoryItemStore, type ItemStore } from "../src/item-store.js";
import type { ApiServer } from "../src/server.js";
import { type KeyServer, startKeyServer } from "./fixtures/key-server.js";
import type { createLogSink } from "./fixtures/log-sink.js";
import { AUDIENCE, createSigner, m2mClaims, type Signer } from "./fixtures/signer.js";
import { startTestApi } from "./fixtures/test-api.js";

let signer: Signer;
let keys: KeyServer;
let api: ApiServer;
let logs: ReturnType<typeof createLogSink>;

// A store that fails the way a database driver does, with details a caller must not see.
const failingStore: ItemStore = {
  ...createMemoryItemStore(),
  list: async () => {
    throw new Error("connect ECONNREFUSED db.internal:5432 user=items");
  },
};

beforeAll(async () => {
  signer = await createSigner();
  keys = await startKeyServer(() => [signer.publicJwk]);
  ({ api, logs } = await startTestApi(
    { ISSUER_BASE_URL: keys.issuer, AUDIENCE },
    { items: failingStore },
  ));
});
afterAll(async () => {
  await api?.close();
  await keys?.close();
});

const clientWith = (token?: string) =>
  createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: api.trpcUrl,
        headers: () => (token === undefined ? {} : { authorization: `Bearer ${token}` }),
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
    const client = clientWith(await signer.sign(m2mClaims(keys.issuer, { scope: "write:items" })));
    const [me, item] = await Promise.all([
      client.whoami.query(),
      client.items.create.mutate({ name: "typed" }),
    ]);
    const sub: string = me.sub;
    const name: string = item.name;
    expect([sub, name]).toEqual(["test-client@clients", "typed"]);
  });

  it("answers an unexpected failure with a bare 500 and logs the detail", async () => {
    const client = clientWith(await signer.sign(m2mClaims(keys.issuer, { scope: "read:items" })));
    const error = await client.items.list.query().then(
      () => undefined,
      (reason: unknown) => reason as TRPCClientError<AppRouter>,
    );
    expect(error?.data?.httpStatus).toBe(500);
    expect(error?.message).toBe("Internal server error");
    expect(JSON.stringify(error)).not.toContain("db.internal");
    expect(logs.lines.some((line) => line.includes("db.internal"))).toBe(true);
  });
});
