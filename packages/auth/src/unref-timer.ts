/**
 * Lets the process exit while `timer` is pending, where timers can be unref'd (Node, Bun). Elsewhere
 * (Deno, Workers, edge runtimes) a timer is a number and keeps nothing alive that `close()` would
 * not stop.
 */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}
