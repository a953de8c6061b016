import "server-only";

/** `fetchImpl` with a deadline per call, on top of whatever signal the caller gave. */
export function withTimeout(fetchImpl: typeof fetch, timeoutMs: number): typeof fetch {
  return (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    // The caller's signal may come in `init` or on a Request: `init.signal` replaces the Request's,
    // so both are kept, or a caller's abort would go unheard until the timeout.
    const callers = [init?.signal, input instanceof Request ? input.signal : undefined].filter(
      (candidate): candidate is AbortSignal => candidate != null,
    );
    const signal = callers.length > 0 ? AbortSignal.any([...callers, timeout]) : timeout;
    return fetchImpl(input, { ...init, signal });
  };
}
