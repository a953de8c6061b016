/**
 * A clock and a sleep that only move when told: retries and refresh windows run without waiting.
 * `sleep` advances the clock by the requested delay and records it.
 */
export function fakeTime(start = 1_700_000_000_000) {
  let current = start;
  const sleeps: number[] = [];
  return {
    now: () => current,
    advance(ms: number) {
      current += ms;
    },
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      current += ms;
    },
  };
}
