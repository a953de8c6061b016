import { describe, expect, it } from "vitest";
import { createEventStreamParser, type ServerSentEvent } from "./event-stream-parser.js";

function parse(chunks: string[], lastEventId?: string) {
  const events: ServerSentEvent[] = [];
  const retries: number[] = [];
  const parser = createEventStreamParser(
    { onEvent: (event) => events.push(event), onRetry: (ms) => retries.push(ms) },
    lastEventId,
  );
  for (const chunk of chunks) parser.push(chunk);
  return { events, retries, lastEventId: parser.lastEventId() };
}

const STREAM =
  ": comment\r\nevent: connected\r\ndata: {}\r\n\r\nid: 1\ndata: first\ndata:  two lines\n\n" +
  "data\rid: 2\revent: ping\r\r";

describe("createEventStreamParser", () => {
  it("reads fields, comments, multi-line data and every line ending", () => {
    const { events, lastEventId } = parse([STREAM]);
    expect(events).toEqual([
      { event: "connected", data: "{}", lastEventId: "" },
      { event: "message", data: "first\n two lines", lastEventId: "1" },
      { event: "ping", data: "", lastEventId: "2" },
    ]);
    expect(lastEventId).toBe("2");
  });

  it("gives the same events however the text is split, even inside a CRLF", () => {
    const whole = parse([STREAM]).events;
    for (let at = 1; at < STREAM.length; at++) {
      expect(parse([STREAM.slice(0, at), STREAM.slice(at)]).events, `split at ${at}`).toEqual(
        whole,
      );
    }
    expect(parse([...STREAM]).events).toEqual(whole);
  });

  it("does not count an event cut off before its blank line as received", () => {
    const { events, lastEventId } = parse(["id: 1\ndata: a\n\nid: 2\ndata: b\n"]);
    expect(events.map((event) => event.data)).toEqual(["a"]);
    expect(lastEventId).toBe("1");
  });

  it("moves the last id on a blank line without data, clears it with an empty id, ignores NUL", () => {
    expect(parse(["id: 7\n\n"]).lastEventId).toBe("7");
    expect(parse(["id: 7\n\nid\n\n"]).lastEventId).toBe("");
    expect(parse(["id: 7\n\nid: a\0b\n\n"]).lastEventId).toBe("7");
    expect(parse(["data: x\n\n"], "5").events[0]?.lastEventId).toBe("5");
  });

  it("reports a retry of digits only, and ignores unknown fields", () => {
    const { retries, events } = parse(["retry: 1500\nretry: 1.5\nretry: x\nfoo: bar\ndata\n\n"]);
    expect(retries).toEqual([1500]);
    expect(events).toEqual([{ event: "message", data: "", lastEventId: "" }]);
  });
});
