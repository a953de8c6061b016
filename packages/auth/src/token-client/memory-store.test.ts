import { describe, expect, it } from "vitest";
import { memoryStore } from "./memory-store.js";
import type { TokenSet } from "./types.js";

const tokenSet: TokenSet = {
  accessToken: "token",
  tokenType: "Bearer",
  expiresAt: Date.now() + 3_600_000,
  issuedAt: Date.now(),
  scope: undefined,
};
const failure = { code: "ERR_TOKEN_NETWORK", message: "unreachable", failedAt: 0 } as const;
const LONG = 600_000;

describe("memoryStore.waitForChange", () => {
  it("wakes a waiter when the lock holder stores a token or a failure, or releases the lock", async () => {
    const store = memoryStore();
    const signal = new AbortController().signal;
    const lock = await store.lock("k", LONG);
    const stored = store.waitForChange?.("k", signal);
    await store.set("k", tokenSet, LONG);
    await stored;
    const failed = store.waitForChange?.("k", signal);
    await store.setFailure("k", failure, LONG);
    await failed;
    const released = store.waitForChange?.("k", signal);
    await lock?.release();
    await released;
  });

  it("wakes a waiter when the lock expires, and at once when no lock is held", async () => {
    const store = memoryStore();
    const signal = new AbortController().signal;
    await store.waitForChange?.("k", signal);
    await store.lock("k", 5);
    await store.waitForChange?.("k", signal);
    expect(await store.lock("k", LONG)).toBeDefined();
  });

  it("wakes waiters when closed", async () => {
    const store = memoryStore();
    await store.lock("k", LONG);
    const waiting = store.waitForChange?.("k", new AbortController().signal);
    await store.close();
    await waiting;
  });
});
