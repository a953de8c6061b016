/**
 * `promise`, or a rejection naming `what` once `ms` have passed without it settling; the timer
 * never outlives it. The work behind `promise` is not cancelled, only no longer waited for.
 */
export function settleWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} exceeded ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
