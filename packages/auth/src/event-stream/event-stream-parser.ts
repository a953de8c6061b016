/** One Server-Sent Event, as dispatched (HTML Living Standard, "Interpreting an event stream"). */
export interface ServerSentEvent {
  /** The event type: the `event` field, `message` without one. */
  event: string;
  /** The `data` lines, joined by `\n`. */
  data: string;
  /** The last event id at dispatch: the latest `id` field of the stream so far (`""` once cleared). */
  lastEventId: string;
}

/** What the parser reports besides events. */
export interface EventStreamParserHooks {
  /** A dispatched event. */
  onEvent(event: ServerSentEvent): void;
  /** A `retry` field: the reconnection time the server asks for, in ms. */
  onRetry?(ms: number): void;
}

/**
 * An incremental parser of `text/event-stream` text: feed it decoded chunks as they arrive, in any
 * sizes (a line, even a `\r\n`, may be split across chunks). Follows the standard: lines end with
 * `\r\n`, `\n` or `\r`; `:` starts a comment; one space after the colon is dropped; an `id` holding
 * NUL is ignored; `retry` must be all digits; an event is dispatched at a blank line, unless it has
 * no `data`; a last event without its blank line is dropped.
 *
 * @example
 * const parser = createEventStreamParser({ onEvent: (event) => console.log(event.data) });
 * for await (const chunk of body.pipeThrough(new TextDecoderStream())) parser.push(chunk);
 */
export function createEventStreamParser(hooks: EventStreamParserHooks, lastEventId = "") {
  let pending = "";
  // A chunk ended with `\r`: a `\n` opening the next one belongs to that line end.
  let afterCR = false;
  let data: string[] = [];
  let event = "";
  let idBuffer = lastEventId;
  // The id as of the last blank line: an `id` whose event was cut off is not yet received.
  let committedId = lastEventId;

  const dispatch = () => {
    committedId = idBuffer;
    if (data.length === 0) {
      event = "";
      return;
    }
    hooks.onEvent({ event: event || "message", data: data.join("\n"), lastEventId: idBuffer });
    data = [];
    event = "";
  };

  const line = (text: string) => {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        event = value;
        break;
      case "data":
        data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) idBuffer = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) hooks.onRetry?.(Number(value));
        break;
    }
  };

  return {
    /** Parses the next chunk of decoded text. */
    push(chunk: string): void {
      let text = chunk;
      if (afterCR && text.startsWith("\n")) text = text.slice(1);
      afterCR = false;
      let start = 0;
      for (let i = 0; i < text.length; i++) {
        const char = text.charCodeAt(i);
        if (char !== 10 && char !== 13) continue;
        line(pending + text.slice(start, i));
        pending = "";
        if (char === 13) {
          if (i + 1 === text.length) afterCR = true;
          else if (text.charCodeAt(i + 1) === 10) i += 1;
        }
        start = i + 1;
      }
      pending += text.slice(start);
    },
    /**
     * The id a reconnect sends as `Last-Event-ID`: the latest `id` field followed by its blank line
     * (with or without data), never that of an event cut off before its end.
     */
    lastEventId: () => committedId,
  };
}
