import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database, Db } from "../src/db/open-database.js";
import { type KeyServer, startKeyServer } from "./fixtures/key-server.js";
import { AUDIENCE, createSigner, m2mClaims, type Signer } from "./fixtures/signer.js";
import { callTrpc, startTestApi } from "./fixtures/test-api.js";
import { openTestDatabase } from "./fixtures/test-database.js";

let signer: Signer;
let keys: KeyServer;

beforeAll(async () => {
  signer = await createSigner();
  keys = await startKeyServer(() => [signer.publicJwk]);
});
afterAll(() => keys.close());

/**
 * A real test database whose write transactions wait until released, to hold a request in
 * flight at a known point.
 */
async function gatedDatabase() {
  const database = await openTestDatabase();
  let entered!: () => void;
  let release!: () => void;
  const inside = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const { db } = database;
  const gated: Database = {
    ...database,
    db: new Proxy(db, {
      get(target, key, receiver) {
        if (key !== "transaction") return Reflect.get(target, key, receiver);
        return async (...args: Parameters<Db["transaction"]>) => {
          entered();
          await gate;
          return target.transaction(...args);
        };
      },
    }),
  };
  return { database: gated, inside, release };
}

describe("graceful shutdown", () => {
  it("stops accepting, finishes the request in flight, then resolves", async () => {
    const gated = await gatedDatabase();
    const { api } = await startTestApi(
      { ISSUER_BASE_URL: keys.issuer, AUDIENCE },
      { database: gated.database },
    );
    const authorization = `Bearer ${await signer.sign(m2mClaims(keys.issuer, { scope: "write:items" }))}`;

    const inFlight = callTrpc(api, "items.create", {
      authorization,
      method: "POST",
      input: { name: "in flight" },
    });
    await gated.inside;

    let closed = false;
    const closing = api.close().then(() => {
      closed = true;
    });
    await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();
    expect(closed).toBe(false);

    gated.release();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.headers.get("connection")).toBe("close");
    expect(answer.body).toMatchObject({ result: { data: { name: "in flight" } } });
    await closing;
    expect(closed).toBe(true);
    await gated.database.close();
  });

  it("drops a request still running after SHUTDOWN_TIMEOUT", async () => {
    const gated = await gatedDatabase();
    const { api } = await startTestApi(
      { ISSUER_BASE_URL: keys.issuer, AUDIENCE, SHUTDOWN_TIMEOUT: "0.2" },
      { database: gated.database },
    );
    const authorization = `Bearer ${await signer.sign(m2mClaims(keys.issuer, { scope: "write:items" }))}`;
    const stuck = callTrpc(api, "items.create", {
      authorization,
      method: "POST",
      input: { name: "never answered" },
    });
    await gated.inside;
    await api.close();
    await expect(stuck).rejects.toThrow();
    gated.release();
    await gated.database.close();
  });
});
