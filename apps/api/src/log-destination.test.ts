import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogDestination } from "./log-destination.js";

/** A stream whose reader takes each chunk only when told: a log shipper that stalls. */
function stalledOutput() {
  const written: string[] = [];
  const waiting: (() => void)[] = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      waiting.push(done);
    },
  });
  const catchUp = () => {
    for (const done of waiting.splice(0)) done();
  };
  return { output, written, catchUp };
}

describe("createLogDestination", () => {
  it("drops lines while the reader is behind, then says how many it dropped", () => {
    const { output, written, catchUp } = stalledOutput();
    const destination = createLogDestination(output, 10);
    for (const n of [1, 2, 3, 4]) destination.write(`{"line":${n}}\n`);
    // The first line (11 bytes) is still with the reader, over the 10 allowed: the rest are dropped.
    catchUp();
    destination.write('{"line":5}\n');
    catchUp();
    const lines = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.line ?? line.dropped)).toEqual([1, 3, 5]);
    expect(lines[1]).toMatchObject({ level: 40, msg: expect.stringContaining("dropped") });
  });

  it("stops writing, without throwing, once the output fails (EPIPE)", async () => {
    const { output, written } = stalledOutput();
    const destination = createLogDestination(output);
    const broken = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    output.destroy(broken);
    await new Promise((resolve) => output.once("close", resolve));
    expect(() => destination.write('{"after":true}\n')).not.toThrow();
    expect(written).toEqual([]);
  });
});
