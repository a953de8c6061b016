export interface WaitOptions {
  /** Give up after this many milliseconds. */
  timeout?: number;
  /** Poll interval in milliseconds. */
  interval?: number;
  /** Says what was awaited when the deadline passes. */
  message?: string;
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false` and returns that value.
 * Errors thrown by the probe count as "not yet", so a server that is still starting can be polled.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  { timeout = 20_000, interval = 50, message = "condition" }: WaitOptions = {},
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as Exclude<T, false | undefined>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
