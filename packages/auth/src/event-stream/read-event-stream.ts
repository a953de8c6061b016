import { parseRetryAfter } from "../token-client/retry-after.js";
import { unrefTimer } from "../unref-timer.js";
import { createEventStreamParser, type ServerSentEvent } from "./event-stream-parser.js";

/** Options of {@link readEventStream}. Durations in milliseconds. */
export interface ReadEventStreamOptions {
  url: string | URL;
  /**
   * Sends every connection attempt. Pass `createAuthorizedFetch(tokens)`: each (re)connect then
   * asks the token client for its current token, so a reconnect after a token expired carries a
   * fresh one (and a 401 `invalid_token` gets one more try with a new token).
   */
  fetch: typeof globalThis.fetch;
  /** More request headers (never put a token here: it would be sent again after it expired). */
  headers?: Record<string, string>;
  /** Resume after this id: sent as `Last-Event-ID` on the first connection. */
  lastEventId?: string;
  /** Wait before a reconnect, until the server sets its own with `retry`. Default 1 000. */
  reconnectDelay?: number;
  /** Longest wait between failed attempts (the wait doubles from `reconnectDelay`). Default 30 000. */
  maxReconnectDelay?: number;
  /**
   * A connection silent this long (no event, no ping, no comment) is taken for dead and replaced.
   * Default: none. Set it above the server's ping interval.
   */
  idleTimeout?: number;
  /** Ends the stream: the generator returns. */
  signal?: AbortSignal;
  /** Told of each connection opened and each reconnect planned, for logs and metrics. */
  onConnection?: (event: EventStreamConnectionEvent) => void;
}

/** What {@link ReadEventStreamOptions.onConnection} hears. Never carries a token. */
export type EventStreamConnectionEvent =
  | { type: "open"; lastEventId: string }
  | {
      type: "reconnecting";
      /** `ended`: the server closed the stream; `network`: it broke or went silent; `status`: 429/5xx. */
      reason: "ended" | "network" | "status";
      status?: number;
      delay: number;
    };

/** Why a stream stopped for good; reconnecting cannot help. Match on `code`. */
export class EventStreamError extends Error {
  readonly code = "ERR_EVENT_STREAM_REFUSED";
  /** The HTTP status that refused the stream (200 when it was not `text/event-stream`). */
  readonly status: number;
  /** The `WWW-Authenticate` challenge of a 401 or 403, as sent. */
  readonly challenge: string | undefined;

  constructor(status: number, challenge: string | undefined, message: string) {
    super(message);
    this.name = "EventStreamError";
    this.status = status;
    this.challenge = challenge ?? undefined;
  }
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Reads a Server-Sent Events stream with `fetch` (not `EventSource`: it sends the headers it is
 * given, a fresh `Authorization` on every connection) and reconnects whenever the stream ends or
 * breaks, sending `Last-Event-ID`, so a server that replays after that id (as the API's
 * `items.onChange` does) delivers every event once: none lost, none repeated. A stream the server
 * ends because the token expired or its key was retired is resumed the same way, with the token
 * client's next token.
 *
 * 408, 429 and 5xx answers are retried after `Retry-After` or the growing delay; any other refusal
 * (400, 401 after a fresh token, 403, 404, a body that is not `text/event-stream`) throws
 * {@link EventStreamError}. A 204 ends the stream (the server asks not to reconnect).
 *
 * @example
 * ```ts
 * const tokens = createClientCredentialsClient({ ... });
 * for await (const event of readEventStream({
 *   url: `${API}/trpc/items.onChange`,
 *   fetch: createAuthorizedFetch(tokens),
 *   signal,
 * })) {
 *   if (event.event === "message") console.log(event.lastEventId, JSON.parse(event.data));
 * }
 * ```
 */
export async function* readEventStream(
  options: ReadEventStreamOptions,
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const { signal } = options;
  const baseDelay = options.reconnectDelay ?? 1_000;
  const maxDelay = options.maxReconnectDelay ?? 30_000;
  let lastEventId = options.lastEventId ?? "";
  let serverDelay: number | undefined;
  let failures = 0;

  while (signal?.aborted !== true) {
    const connection = new AbortController();
    const stop = () => connection.abort();
    signal?.addEventListener("abort", stop, { once: true });
    let plan: { reason: "ended" | "network" | "status"; status?: number; wait?: number };
    try {
      const headers = new Headers(options.headers);
      headers.set("accept", "text/event-stream");
      headers.set("cache-control", "no-store");
      if (lastEventId !== "") headers.set("last-event-id", lastEventId);
      let response: Response;
      try {
        response = await options.fetch(options.url, { headers, signal: connection.signal });
      } catch (error) {
        if (signal?.aborted) return;
        // The token client's own failures (no token to send) are not the stream's to retry.
        if (!isNetworkFailure(error)) throw error;
        plan = { reason: "network" };
        failures += 1;
        await wait(delayFor(plan), signal);
        continue;
      }
      if (response.status === 204) {
        await response.body?.cancel().catch(() => {});
        return;
      }
      const contentType = response.headers.get("content-type") ?? "";
      if (!response.ok || !/^text\/event-stream\b/i.test(contentType)) {
        await response.body?.cancel().catch(() => {});
        if (!RETRY_STATUSES.has(response.status)) {
          throw new EventStreamError(
            response.status,
            response.headers.get("www-authenticate") ?? undefined,
            response.ok
              ? `the stream answered ${contentType || "no content type"}, not text/event-stream`
              : `the stream was refused with status ${response.status}`,
          );
        }
        failures += 1;
        plan = {
          reason: "status",
          status: response.status,
          wait: parseRetryAfter(response.headers.get("retry-after"), Date.now()),
        };
      } else {
        failures = 0;
        options.onConnection?.({ type: "open", lastEventId });
        const queue: ServerSentEvent[] = [];
        const parser = createEventStreamParser(
          { onEvent: (event) => queue.push(event), onRetry: (ms) => (serverDelay = ms) },
          lastEventId,
        );
        const broke = yield* pump(response, parser, queue, connection, options.idleTimeout);
        lastEventId = parser.lastEventId();
        if (signal?.aborted) return;
        plan = { reason: broke ? "network" : "ended" };
      }
    } finally {
      signal?.removeEventListener("abort", stop);
      connection.abort();
    }
    const delay = plan.wait ?? delayFor(plan);
    options.onConnection?.({ type: "reconnecting", ...plan, delay });
    await wait(delay, signal);
  }

  function delayFor(plan: { reason: string }): number {
    const base = serverDelay ?? baseDelay;
    if (plan.reason === "ended" || failures <= 1) return Math.min(base, maxDelay);
    return Math.min(base * 2 ** Math.min(failures - 1, 16), maxDelay);
  }
}

/** Reads one connection's body, yielding its events; `true` when it broke rather than ended. */
async function* pump(
  response: Response,
  parser: ReturnType<typeof createEventStreamParser>,
  queue: ServerSentEvent[],
  connection: AbortController,
  idleTimeout: number | undefined,
): AsyncGenerator<ServerSentEvent, boolean, undefined> {
  const body = response.body;
  if (body === null) return false;
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let idle: ReturnType<typeof setTimeout> | undefined;
  const armIdle = () => {
    if (idleTimeout === undefined) return;
    clearTimeout(idle);
    idle = setTimeout(() => connection.abort(), idleTimeout);
    unrefTimer(idle);
  };
  try {
    armIdle();
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch {
        return true;
      }
      if (chunk.done) return false;
      armIdle();
      parser.push(chunk.value);
      while (queue.length > 0) yield queue.shift() as ServerSentEvent;
    }
  } finally {
    clearTimeout(idle);
    reader.cancel().catch(() => {});
  }
}

function isNetworkFailure(error: unknown): boolean {
  // fetch rejects with a TypeError when the connection fails, an AbortError/TimeoutError when cut.
  return (
    error instanceof TypeError ||
    (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError"))
  );
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
