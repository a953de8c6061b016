import { describe, expect, it, vi } from "vitest";

describe("processSingleton", () => {
  it("hands out the same instance after the module is evaluated again (as on a dev reload)", async () => {
    const first = await import("./process-singleton");
    const instance = first.processSingleton("probe", () => ({ created: Date.now() }));

    vi.resetModules();
    const second = await import("./process-singleton");
    expect(second).not.toBe(first);
    expect(second.processSingleton("probe", () => ({ created: -1 }))).toBe(instance);
  });

  it("tries again after a factory throws instead of remembering the failure", async () => {
    const { processSingleton } = await import("./process-singleton");
    expect(() =>
      processSingleton("flaky", () => {
        throw new Error("environment not ready");
      }),
    ).toThrow("environment not ready");
    expect(processSingleton("flaky", () => "built")).toBe("built");
  });
});
