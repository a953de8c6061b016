import { describe, expect, it } from "vitest";
import { waitFor } from "./wait-for.js";

describe("waitFor", () => {
  it("returns the probe's first value that is neither undefined nor false", async () => {
    const answers = [undefined, false, 0, 1];
    expect(await waitFor(() => answers.shift(), { interval: 1 })).toBe(0);
    expect(answers).toEqual([1]);
  });

  it("counts a probe that throws as not yet", async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls++;
        if (calls < 3) throw new Error("still starting");
        return "up";
      },
      { interval: 1 },
    );
    expect({ value, calls }).toEqual({ value: "up", calls: 3 });
  });

  it("fails after the timeout, naming what it waited for, with the probe's last error as cause", async () => {
    const failure = await waitFor(
      () => {
        throw new Error("refused");
      },
      { timeout: 20, interval: 1, message: "the server" },
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe("timed out after 20 ms waiting for the server");
    expect((failure as Error).cause).toMatchObject({ message: "refused" });
  });
});
