import type { RetryOptions } from "./types.js";

export type ResolvedRetryOptions = Required<RetryOptions>;

export const DEFAULT_RETRY: ResolvedRetryOptions = {
  maxAttempts: 4,
  baseDelay: 250,
  maxDelay: 5_000,
  maxElapsed: 30_000,
};

export function resolveRetry(retry: RetryOptions | false | undefined): ResolvedRetryOptions {
  if (retry === false) return { ...DEFAULT_RETRY, maxAttempts: 1 };
  const resolved = { ...DEFAULT_RETRY, ...retry };
  if (!(Number.isInteger(resolved.maxAttempts) && resolved.maxAttempts >= 1)) {
    throw new TypeError("retry.maxAttempts must be an integer of at least 1");
  }
  for (const name of ["baseDelay", "maxDelay", "maxElapsed"] as const) {
    if (!(Number.isFinite(resolved[name]) && resolved[name] >= 0)) {
      throw new TypeError(`retry.${name} must be a non-negative number of milliseconds`);
    }
  }
  return resolved;
}

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(maxDelay, baseDelay·2^(n-1))),
 * so that many clients failing together spread their retries instead of retrying in step.
 */
export function backoffDelay(
  failedAttempts: number,
  retry: ResolvedRetryOptions,
  random: () => number,
): number {
  const window = Math.min(retry.maxDelay, retry.baseDelay * 2 ** (failedAttempts - 1));
  return Math.floor(random() * window);
}
