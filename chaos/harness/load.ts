export interface CallRecord {
  /** What the call ended with: an HTTP status, "ok", or an error code. */
  outcome: string;
  startedAt: number;
  ms: number;
}

export interface LoadRun {
  /** Completed calls so far. */
  readonly records: readonly CallRecord[];
  /** Stops issuing calls and waits for the ones in flight. */
  stop(): Promise<LoadSummary>;
}

export interface LoadSummary {
  records: CallRecord[];
  /** Number of calls per outcome. */
  outcomes: Record<string, number>;
  total: number;
}

export const summarize = (records: readonly CallRecord[]): LoadSummary => {
  const outcomes: Record<string, number> = {};
  for (const record of records) outcomes[record.outcome] = (outcomes[record.outcome] ?? 0) + 1;
  return { records: [...records], outcomes, total: records.length };
};

/**
 * Keeps `concurrency` callers busy calling `call` (each pausing `pauseMs` between calls) until
 * stopped. A thrown error is
 * recorded with its `code` (or name) as the outcome, never rethrown: the test asserts on counts.
 */
export function startLoad(
  call: () => Promise<string>,
  { concurrency = 4, pauseMs = 0 }: { concurrency?: number; pauseMs?: number } = {},
): LoadRun {
  const records: CallRecord[] = [];
  let stopped = false;

  const worker = async () => {
    while (!stopped) {
      const startedAt = Date.now();
      let outcome: string;
      try {
        outcome = await call();
      } catch (error) {
        const e = error as { code?: unknown; name?: unknown };
        outcome = `error:${String(e.code ?? e.name ?? "unknown")}`;
      }
      records.push({ outcome, startedAt, ms: Date.now() - startedAt });
      // Pace the callers (and yield, so a fast failing call cannot starve the event loop).
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const workers = Array.from({ length: concurrency }, worker);

  return {
    records,
    async stop() {
      stopped = true;
      await Promise.all(workers);
      return summarize(records);
    },
  };
}

/** Runs `task` over `items` with at most `concurrency` at a time; results keep the input order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Outcomes of the calls that started in [from, to). */
export const outcomesBetween = (records: readonly CallRecord[], from: number, to = Infinity) =>
  summarize(records.filter((r) => r.startedAt >= from && r.startedAt < to)).outcomes;

/**
 * Outcomes of the calls that started at `from` or later and were over before `to`. For calls that
 * take long (a page makes several API calls), so that one still running when the system changed is
 * not counted as before the change.
 */
export const outcomesDoneBetween = (records: readonly CallRecord[], from: number, to: number) =>
  summarize(records.filter((r) => r.startedAt >= from && r.startedAt + r.ms < to)).outcomes;
