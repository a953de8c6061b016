import "server-only";

export interface ApiCall {
  /** Epoch milliseconds when the HTTP request started. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** Procedures carried by the (possibly batched) request, e.g. `["whoami", "items.list"]`. */
  readonly procedures: readonly string[];
  /** HTTP status, or `undefined` when no response arrived (refused, reset, timed out). */
  readonly status: number | undefined;
}

/** A fixed-size ring of the most recent API calls made by this server process. */
export interface ApiCallLog {
  record(call: ApiCall): void;
  /** Oldest first. */
  recent(): ApiCall[];
}

export function createApiCallLog(capacity = 40): ApiCallLog {
  const calls: ApiCall[] = [];
  return {
    record(call) {
      calls.push(call);
      if (calls.length > capacity) calls.splice(0, calls.length - capacity);
    },
    recent: () => [...calls],
  };
}

/** The tRPC path segment after the endpoint: `/trpc/whoami,items.list` → `["whoami", "items.list"]`. */
export function proceduresOf(url: string, endpoint: string): string[] {
  const path = new URL(url).pathname;
  const base = new URL(endpoint).pathname.replace(/\/$/, "");
  const rest = path.startsWith(`${base}/`) ? path.slice(base.length + 1) : path;
  return decodeURIComponent(rest).split(",").filter(Boolean);
}

/**
 * Wraps a fetch so every call to the API lands in the log, including the ones that never get an
 * answer: those are the interesting points on the latency chart.
 */
export function timedFetch(
  fetchImpl: typeof fetch,
  log: ApiCallLog,
  endpoint: string,
  now: () => number = performance.now.bind(performance),
): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const startedAt = Date.now();
    const start = now();
    const entry = (status: number | undefined): ApiCall => ({
      startedAt,
      durationMs: now() - start,
      procedures: proceduresOf(url, endpoint),
      status,
    });
    try {
      const response = await fetchImpl(input, init);
      log.record(entry(response.status));
      return response;
    } catch (error) {
      log.record(entry(undefined));
      throw error;
    }
  };
}
