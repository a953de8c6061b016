import {
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  type InsufficientScopeError,
  MissingTokenError,
  type VerifierEvent,
} from "@repo/auth";
import { TRPCError } from "@trpc/server";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type KeyServer, startKeyServer } from "../../test/fixtures/key-server.js";
import { AUDIENCE, createSigner, m2mClaims, type Signer } from "../../test/fixtures/signer.js";
import { openTestDatabase } from "../../test/fixtures/test-database.js";
import { createInnerContext } from "../context.js";
import type { Database } from "../db/open-database.js";
import { items } from "../db/schema.js";
import { createMemoryItemChangeFeed } from "../item-change-feed.js";
import { createStreamLifetimes } from "../stream-lifetimes.js";
import { createCallerFactory } from "../trpc.js";
import { appRouter } from "./app-router.js";

const createCaller = createCallerFactory(appRouter);

let signer: Signer;
let keys: KeyServer;
let verifier: AccessTokenVerifier;
let database: Database;
const events: VerifierEvent[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
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
  await database.close();
});

beforeEach(async () => {
  await database.db.execute(sql`delete from items`);
});

const callerFor = async (scope?: string, claims: Record<string, unknown> = {}) => {
  const services = {
    verifier,
    database,
    changes: createMemoryItemChangeFeed(),
    streams: createStreamLifetimes({ verifier, now: Date.now }),
  };
  const token =
    scope === undefined
      ? undefined
      : await signer.sign(m2mClaims(keys.issuer, { scope, ...claims }));
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
    await expect(reader.items.list()).resolves.toEqual({ items: [], nextCursor: null });
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
      clientId: "test-client",
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
    await expect(writer.items.list()).resolves.toEqual({ items: [item], nextCursor: null });
  });

  it("records the creating client and token, and gets an item by id", async () => {
    const writer = await callerFor("read:items write:items", { jti: "token-1" });
    const item = await writer.items.create({ name: "mine" });
    expect(item).toMatchObject({ createdBy: "test-client@clients", clientId: "test-client" });
    await expect(writer.items.get({ id: item.id })).resolves.toEqual(item);
    const rows = await database.db
      .select({ tokenId: items.tokenId })
      .from(items)
      .where(eq(items.id, item.id));
    expect(rows).toEqual([{ tokenId: "token-1" }]);
    const missing = await rejection(writer.items.get({ id: crypto.randomUUID() }));
    expect(missing.code).toBe("NOT_FOUND");
    expect((await rejection(writer.items.get({ id: "not-a-uuid" }))).code).toBe("BAD_REQUEST");
  });

  it("lets a client change its own items only, unless it holds admin:items", async () => {
    const owner = await callerFor("read:items write:items", { azp: "owner", sub: "owner@clients" });
    const other = await callerFor("read:items write:items", { azp: "other", sub: "other@clients" });
    const admin = await callerFor("read:items write:items admin:items", { azp: "admin" });
    const item = await owner.items.create({ name: "original" });

    const refused = await rejection(other.items.update({ id: item.id, name: "taken" }));
    expect(refused.code).toBe("FORBIDDEN");
    expect((await rejection(other.items.delete({ id: item.id }))).code).toBe("FORBIDDEN");
    await expect(owner.items.get({ id: item.id })).resolves.toMatchObject({ name: "original" });

    const renamed = await owner.items.update({ id: item.id, name: " renamed " });
    expect(renamed).toMatchObject({ id: item.id, name: "renamed", clientId: "owner" });
    expect(renamed.updatedAt >= item.updatedAt).toBe(true);
    await expect(admin.items.update({ id: item.id, name: "by admin" })).resolves.toMatchObject({
      name: "by admin",
      clientId: "owner",
    });
    await expect(admin.items.delete({ id: item.id })).resolves.toMatchObject({ id: item.id });
    expect((await rejection(owner.items.delete({ id: item.id }))).code).toBe("NOT_FOUND");
    expect((await rejection(owner.items.update({ id: item.id, name: "x" }))).code).toBe(
      "NOT_FOUND",
    );
  });

  it("needs write:items to update or delete, even for an admin", async () => {
    const admin = await callerFor("read:items admin:items");
    const error = await rejection(admin.items.delete({ id: crypto.randomUUID() }));
    expect(error.code).toBe("FORBIDDEN");
    expect((error.cause as InsufficientScopeError).missingScopes).toEqual(["write:items"]);
  });

  it("pages the list with a cursor, oldest first, at most 100 a page", async () => {
    const writer = await callerFor("read:items write:items");
    const created = [];
    for (let index = 0; index < 5; index++) {
      created.push(await writer.items.create({ name: `item ${index}` }));
    }
    const first = await writer.items.list({ limit: 2 });
    expect(first.items).toEqual(created.slice(0, 2));
    const second = await writer.items.list({ limit: 2, cursor: first.nextCursor });
    expect(second.items).toEqual(created.slice(2, 4));
    const last = await writer.items.list({ limit: 2, cursor: second.nextCursor });
    expect(last).toEqual({ items: created.slice(4), nextCursor: null });
    await expect(writer.items.list({ limit: 100 })).resolves.toEqual({
      items: created,
      nextCursor: null,
    });

    for (const limit of [0, 101, 1.5]) {
      expect((await rejection(writer.items.list({ limit }))).code).toBe("BAD_REQUEST");
    }
    for (const cursor of [
      "nonsense",
      Buffer.from("s:99999999999999999999").toString("base64url"),
    ]) {
      expect((await rejection(writer.items.list({ cursor }))).code).toBe("BAD_REQUEST");
    }
  });

  it("verifies a request's token once for all its protected calls", async () => {
    const caller = await callerFor("read:items");
    const before = events.filter((event) => event.type === "token_verified").length;
    await Promise.all([caller.whoami(), caller.items.list(), caller.whoami()]);
    const after = events.filter((event) => event.type === "token_verified").length;
    expect(after - before).toBe(1);
  });
});
