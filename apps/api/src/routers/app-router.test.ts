import {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  type InsufficientScopeError,
  MissingTokenError,
  type VerifierEvent,
} from "@repo/auth";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KeyServer, startKeyServer } from "../../test/fixtures/key-server.js";
import { AUDIENCE, createSigner, m2mClaims, type Signer } from "../../test/fixtures/signer.js";
import { createInnerContext } from "../context.js";
import { createMemoryItemChangeFeed } from "../item-change-feed.js";
import { createMemoryItemStore } from "../item-store.js";
import { createStreamLifetimes } from "../stream-lifetimes.js";
import { createCallerFactory } from "../trpc.js";
import { appRouter } from "./app-router.js";

const createCaller = createCallerFactory(appRouter);

let signer: Signer;
let keys: KeyServer;
let verifier: AccessTokenVerifier;
const events: VerifierEvent[] = [];

beforeAll(async () => {
  signer = await createSigner();
  keys = await startKeyServer(() => [signer.publicJwk]);
  verifier = createAccessTokenVerifier({
    issuer: keys.issuer,
    jwksUri: keys.jwksUri,
    audience: AUDIENCE,
    onEvent: (event) => events.push(event),
  });
  await verifier.warmUp();
});

afterAll(async () => {
  verifier.close();
  await keys.close();
});

const callerFor = async (scope?: string) => {
  const services = {
    verifier,
    items: createMemoryItemStore(),
    changes: createMemoryItemChangeFeed(),
    streams: createStreamLifetimes({ verifier, now: Date.now }),
  };
  const token =
    scope === undefined ? undefined : await signer.sign(m2mClaims(keys.issuer, { scope }));
  return createCaller(createInnerContext(services, token && `Bearer ${token}`));
};

const rejection = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
};

describe("appRouter", () => {
  it("reports the key store's health to anyone", async () => {
    const caller = await callerFor();
    const health = await caller.health();
    expect(health).toEqual({
      status: "ok",
      jwks: { state: "fresh", keys: 1, lastRefreshAt: expect.any(String) },
    });
  });

  it("answers whoami from the verified claims", async () => {
    const caller = await callerFor("read:items write:items");
    await expect(caller.whoami()).resolves.toEqual({
      sub: "test-client@clients",
      clientId: "test-client",
      scopes: ["read:items", "write:items"],
      permissions: [],
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it("refuses protected procedures without a token, before the handler runs", async () => {
    const caller = await callerFor();
    const error = await rejection(caller.items.create({ name: "never stored" }));
    expect(error.code).toBe("UNAUTHORIZED");
    expect(error.cause).toBeInstanceOf(MissingTokenError);
    const reader = await callerFor("read:items");
    await expect(reader.items.list()).resolves.toEqual([]);
  });

  it("needs read:items to list and write:items to create", async () => {
    const reader = await callerFor("read:items");
    const error = await rejection(reader.items.create({ name: "x" }));
    expect(error.code).toBe("FORBIDDEN");
    expect((error.cause as InsufficientScopeError).missingScopes).toEqual(["write:items"]);

    const writerOnly = await callerFor("write:items");
    expect((await rejection(writerOnly.items.list())).code).toBe("FORBIDDEN");
    await expect(writerOnly.items.create({ name: "  spaced  " })).resolves.toMatchObject({
      name: "spaced",
      createdBy: "test-client@clients",
    });
  });

  it("validates the item name (1 to 100 characters)", async () => {
    const writer = await callerFor("read:items write:items");
    expect((await rejection(writer.items.create({ name: "" }))).code).toBe("BAD_REQUEST");
    expect((await rejection(writer.items.create({ name: "   " }))).code).toBe("BAD_REQUEST");
    expect((await rejection(writer.items.create({ name: "x".repeat(101) }))).code).toBe(
      "BAD_REQUEST",
    );
    const item = await writer.items.create({ name: "x".repeat(100) });
    await expect(writer.items.list()).resolves.toEqual([item]);
  });

  it("verifies a request's token once for all its protected calls", async () => {
    const caller = await callerFor("read:items");
    const before = events.filter((event) => event.type === "token_verified").length;
    await Promise.all([caller.whoami(), caller.items.list(), caller.whoami()]);
    const after = events.filter((event) => event.type === "token_verified").length;
    expect(after - before).toBe(1);
  });
});
