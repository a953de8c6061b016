import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_RETRY, resolveRetry } from "./backoff.js";

describe("backoffDelay", () => {
  it("stays within [0, min(maxDelay, baseDelay·2^(n-1)))", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const delay = backoffDelay(attempt, DEFAULT_RETRY, () => r);
          const window = Math.min(
            DEFAULT_RETRY.maxDelay,
            DEFAULT_RETRY.baseDelay * 2 ** (attempt - 1),
          );
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(window);
        },
      ),
    );
  });

  it("doubles the window until the cap", () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, DEFAULT_RETRY, top))).toEqual([
      249, 499, 999, 1999, 3999, 4999, 4999,
    ]);
  });
});

describe("resolveRetry", () => {
  it("turns false into a single attempt and rejects nonsense", () => {
    expect(resolveRetry(false).maxAttempts).toBe(1);
    expect(() => resolveRetry({ maxAttempts: 0 })).toThrow(TypeError);
    expect(() => resolveRetry({ baseDelay: -1 })).toThrow(TypeError);
  });
});
