import { Worker } from "node:worker_threads";

// Runs in its own thread, on its own event loop: a main thread blocked in a write or a busy loop
// cannot starve its timer.
const WATCHDOG = `
const { workerData } = require("node:worker_threads");
setTimeout(() => process.kill(workerData.pid, "SIGKILL"), workerData.ms);
`;

/**
 * Kills the process (SIGKILL) if it is still running `ms` from now. The last resort of a
 * shutdown: the graceful path exits well before; this one holds even when the main thread can no
 * longer run anything. The watchdog does not keep the process alive.
 */
export function armExitDeadline(ms: number): void {
  // No inherited flags: a loader (`--import tsx` in development) would make the worker's start
  // wait on the main thread.
  new Worker(WATCHDOG, { eval: true, execArgv: [], workerData: { pid: process.pid, ms } }).unref();
}
