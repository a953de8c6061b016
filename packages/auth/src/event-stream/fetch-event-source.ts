import { type ReadEventStreamOptions, readEventStream } from "./read-event-stream.js";

/** What a class made by {@link createFetchEventSource} is: the `EventSource` interface, on `fetch`. */
export interface FetchEventSource extends EventTarget {
  readonly url: string;
  readonly withCredentials: false;
  /** 0 connecting, 1 open, 2 closed. */
  readonly readyState: 0 | 1 | 2;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSED: 2;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  close(): void;
}

export interface FetchEventSourceConstructor {
  new (url: string | URL, init?: unknown): FetchEventSource;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSED: 2;
}

/**
 * An `EventSource` class whose every connection — the first and each automatic reconnect — goes
 * through `fetch`, so it carries the headers that `fetch` adds at that moment. With
 * `createAuthorizedFetch(tokens)` each reconnect sends the token client's current token, which a
 * standard `EventSource` (no headers) or a ponyfill given fixed headers cannot. Reconnects send
 * `Last-Event-ID` ({@link readEventStream}). A refusal that retrying cannot fix (401, 403…) closes
 * it with an `error` event.
 *
 * Hand it to tRPC's `httpSubscriptionLink` without this package depending on tRPC:
 * @example
 * ```ts
 * const link = httpSubscriptionLink({
 *   url: env.API_URL,
 *   EventSource: createFetchEventSource(createAuthorizedFetch(tokens)),
 * });
 * ```
 */
export function createFetchEventSource(
  fetch: typeof globalThis.fetch,
  options: Pick<
    ReadEventStreamOptions,
    "reconnectDelay" | "maxReconnectDelay" | "idleTimeout"
  > = {},
): FetchEventSourceConstructor {
  return class extends EventTarget implements FetchEventSource {
    static readonly CONNECTING = 0 as const;
    static readonly OPEN = 1 as const;
    static readonly CLOSED = 2 as const;
    readonly CONNECTING = 0 as const;
    readonly OPEN = 1 as const;
    readonly CLOSED = 2 as const;
    readonly url: string;
    readonly withCredentials = false as const;
    readyState: 0 | 1 | 2 = 0;
    onopen: ((event: Event) => void) | null = null;
    onmessage: ((event: MessageEvent) => void) | null = null;
    onerror: ((event: Event) => void) | null = null;
    readonly #controller = new AbortController();

    constructor(url: string | URL, _init?: unknown) {
      super();
      this.url = String(url);
      void this.#run();
    }

    close(): void {
      this.readyState = 2;
      this.#controller.abort();
    }

    #fire(event: Event, handler: ((event: never) => void) | null): void {
      this.dispatchEvent(event);
      handler?.(event as never);
    }

    async #run(): Promise<void> {
      const signal = this.#controller.signal;
      try {
        for await (const sse of readEventStream({
          ...options,
          url: this.url,
          fetch,
          signal,
          onConnection: (info) => {
            if (signal.aborted) return;
            if (info.type === "open") {
              this.readyState = 1;
              this.#fire(new Event("open"), this.onopen);
            } else {
              this.readyState = 0;
              this.#fire(new Event("error"), this.onerror);
            }
          },
        })) {
          if (signal.aborted) return;
          const event = new MessageEvent(sse.event, {
            data: sse.data,
            lastEventId: sse.lastEventId,
            origin: new URL(this.url).origin,
          });
          this.#fire(event, sse.event === "message" ? this.onmessage : null);
        }
        if (!signal.aborted) this.close();
      } catch {
        if (signal.aborted) return;
        this.readyState = 2;
        this.#controller.abort();
        this.#fire(new Event("error"), this.onerror);
      }
    }
  };
}
