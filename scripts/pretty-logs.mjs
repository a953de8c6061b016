// `<app> | node ../../scripts/pretty-logs.mjs`: an app's JSON log lines on stdin, printed as
// `pnpm dev` prints them (see format-log-line.mjs). Used by the `dev` script of apps/api and of every
// service generated from it.
//
// A Ctrl-C or SIGTERM reaches the whole process group, this filter included: it keeps printing until
// the app closes its output, so the app's own shutdown lines are not lost. A second signal ends it
// at once.
import { createInterface } from "node:readline";
import { formatLogLine } from "./format-log-line.mjs";

const color =
  process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== "0"
    ? true
    : Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined;

let signalled = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (signalled) process.exit(1);
    signalled = true;
  });
}

createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY }).on(
  "line",
  (line) => {
    process.stdout.write(`${formatLogLine(line, { color })}\n`);
  },
);
