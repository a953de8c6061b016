import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { changeWaiters } from "./change-waiters.js";

const settledNow = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe("changeWaiters", () => {
  it("wakes the waiters of one key and leaves no abort listener behind", async () => {
    const waiters = changeWaiters();
    const signal = new AbortController().signal;
    const a = Array.from({ length: 100 }, () => waiters.add("a", signal));
    const b = waiters.add("b", signal);
    for (const w of [...a, b]) w.wakeAfter(600_000);
    expect(getEventListeners(signal, "abort")).toHaveLength(101);

    waiters.wake("a");
    await Promise.all(a.map((w) => w.woken));
    expect(a.every((w) => w.settled)).toBe(true);
    expect(await settledNow(b.woken)).toBe(false);
    expect(getEventListeners(signal, "abort")).toHaveLength(1);

    waiters.wakeAll();
    await b.woken;
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });

  it("wakes on abort, on its deadline, and at once for a deadline already past", async () => {
    const waiters = changeWaiters();
    const controller = new AbortController();
    const aborted = waiters.add("k", controller.signal);
    controller.abort();
    await aborted.woken;
    expect(waiters.add("k", controller.signal).settled).toBe(true);

    const signal = new AbortController().signal;
    const timed = waiters.add("k", signal);
    timed.wakeAfter(1);
    await timed.woken;
    const past = waiters.add("k", signal);
    past.wakeAfter(-5);
    expect(past.settled).toBe(true);
  });
});
