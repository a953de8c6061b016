import "server-only";
import type { AppRouter, ItemChange } from "@repo/api";
import { createAuthorizedFetch, createFetchEventSource } from "@repo/auth";
import { createTRPCClient, httpSubscriptionLink } from "@trpc/client";
import { getWebEnv, WebEnvError } from "./env";
import { processSingleton } from "./process-singleton";
import { getTokenClient } from "./token-client";

/** What `/status` shows about the live relay. */
export interface RelayStats {
  /** Browser streams open now (each holds one subscription to the API). */
  open: number;
  /** Changes sent to browsers since the process started. */
  relayed: number;
}

const stats = () => processSingleton("relay-stats", (): RelayStats => ({ open: 0, relayed: 0 }));

export function getRelayStats(): RelayStats {
  return { ...stats() };
}

/** How often the relay sends the browser a comment, so idle proxies keep the stream open. */
const PING_MS = 15_000;
/** The browser's reconnect delay (`retry`), after the relay or this server went away. */
const BROWSER_RETRY_MS = 2_000;
/** Pause before resuming a subscription the API ended (token expired, key retired). */
const RESUME_DELAY_MS = 100;

/**
 * The tRPC client for subscriptions: every connection to the API — the first and each reconnect —
 * asks the token client for its current token (`createFetchEventSource`), without the page
 * transport's timeout, which would cut a long-lived stream.
 */
function getSubscriptionClient() {
  return processSingleton("subscription-client", () =>
    createTRPCClient<AppRouter>({
      links: [
        httpSubscriptionLink({
          url: getWebEnv().API_URL,
          EventSource: createFetchEventSource(createAuthorizedFetch(getTokenClient()), {
            reconnectDelay: 500,
            // The API pings every 15 s; a connection silent for longer is dead.
            idleTimeout: 45_000,
          }),
        }),
      ],
    }),
  );
}

const encoder = new TextEncoder();

/**
 * An SSE event for the browser: `change` (with the API's id, for the browser's Last-Event-ID),
 * `gap`, or `ready` (the API subscription is open: what is written from now on will be relayed).
 */
function sseEvent(
  event: "change" | "gap" | "ready",
  data: ItemChange | object,
  id?: string,
): Uint8Array {
  return encoder.encode(
    `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`,
  );
}

/**
 * `GET /api/items/stream`: relays `items.onChange` to a browser as Server-Sent Events, with a
 * `ready` event once the API subscription is open (a page loads the list after it, so no write
 * falls between the list and the stream). This server
 * subscribes as its M2M client; the browser only ever sees item changes, never a token. The
 * browser's `Last-Event-ID` is passed on to the API, so an `EventSource` that reconnects misses
 * nothing; a stream the API ends (`token_expired`, `key_revoked`, `shutting_down`) is resumed here
 * with a fresh token, unseen by the browser.
 */
export function relayItemChanges(request: Request): Response {
  try {
    getWebEnv();
  } catch (error) {
    if (!(error instanceof WebEnvError)) throw error;
    console.error(
      JSON.stringify({ level: "error", msg: "live relay misconfigured", problems: error.problems }),
    );
    // Not a stream: an EventSource stops on this status instead of retrying.
    return Response.json(
      { error: "The live relay is not configured" },
      { status: 503, headers: { "cache-control": "no-store" } },
    );
  }
  const counters = stats();
  let stop: () => void = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let lastEventId = request.headers.get("last-event-id") ?? undefined;
      let closed = false;
      let unsubscribe: (() => void) | undefined;
      let resume: ReturnType<typeof setTimeout> | undefined;
      const send = (chunk: Uint8Array) => {
        if (!closed) controller.enqueue(chunk);
      };
      const ping = setInterval(() => send(encoder.encode(": ping\n\n")), PING_MS);
      counters.open += 1;

      stop = () => {
        if (closed) return;
        closed = true;
        counters.open -= 1;
        clearInterval(ping);
        clearTimeout(resume);
        unsubscribe?.();
        request.signal.removeEventListener("abort", stop);
      };
      request.signal.addEventListener("abort", stop, { once: true });

      let ready = false;
      const subscribe = () => {
        const subscription = getSubscriptionClient().items.onChange.subscribe(
          { lastEventId },
          {
            onStarted() {
              if (ready) return;
              ready = true;
              send(sseEvent("ready", {}));
            },
            onData(event) {
              if ("id" in event) {
                lastEventId = event.id;
                counters.relayed += 1;
                send(sseEvent("change", event.data, event.id));
              } else if (event.type === "gap") {
                send(sseEvent("gap", {}));
              }
            },
            onComplete() {
              if (!closed) resume = setTimeout(subscribe, RESUME_DELAY_MS);
            },
            onError() {
              // Refused for good (403, say): end the stream; the browser retries after `retry`.
              stop();
              try {
                controller.close();
              } catch {
                // The browser had already gone.
              }
            },
          },
        );
        unsubscribe = () => subscription.unsubscribe();
      };

      send(encoder.encode(`retry: ${BROWSER_RETRY_MS}\n\n`));
      subscribe();
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store, no-transform",
      "x-accel-buffering": "no",
    },
  });
}
