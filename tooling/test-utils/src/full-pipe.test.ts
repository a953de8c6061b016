import { closeSync, constants, openSync, writeSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createFullPipe } from "./full-pipe.js";

describe("createFullPipe", () => {
  it("hands over a write end with no room left and a reader that never reads", async () => {
    const pipe = await createFullPipe();
    // A write on the blocking end would hang if the pipe were full as promised; a non-blocking
    // end opened on the same fifo is the probe.
    const probe = openSync(`/proc/self/fd/${pipe.fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      expect(() => writeSync(probe, "x")).toThrow(expect.objectContaining({ code: "EAGAIN" }));
    } finally {
      closeSync(probe);
      await pipe.close();
    }
  });
});
