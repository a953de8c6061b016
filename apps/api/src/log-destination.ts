import type { Writable } from "node:stream";
import type { DestinationStream } from "pino";

/** Bytes of log lines waiting for a slow reader before new lines are dropped. */
const DEFAULT_MAX_BACKLOG = 1024 * 1024;

/**
 * A log destination that never blocks and never throws, whatever its reader does: the log must
 * not be able to stop the API, least of all its shutdown.
 *
 * pino's default destination writes synchronously to fd 1: a pipe nobody reads (a stalled log
 * shipper) then blocks the whole process, signal handlers included. Here lines go through
 * `output` (Node's `process.stdout`, asynchronous for pipes and sockets): while more than
 * `maxBacklog` bytes wait for the reader, new lines are dropped and counted, and a line saying
 * how many were lost goes out once the reader catches up. Once the output fails (EPIPE: the
 * reader is gone), logging stops and the API goes on.
 */
export function createLogDestination(
  output: Writable = process.stdout,
  maxBacklog = DEFAULT_MAX_BACKLOG,
): DestinationStream {
  let failed = false;
  let dropped = 0;
  output.on("error", () => {
    failed = true;
  });
  const send = (line: string) => {
    try {
      output.write(line);
    } catch {
      failed = true;
    }
  };
  return {
    write(line: string) {
      if (failed || output.destroyed) return;
      if (output.writableLength > maxBacklog) {
        dropped += 1;
        return;
      }
      if (dropped > 0) {
        send(
          `${JSON.stringify({ level: 40, time: Date.now(), service: "api", dropped, msg: "log lines dropped: the log reader fell behind" })}\n`,
        );
        dropped = 0;
      }
      send(line);
    },
  };
}
