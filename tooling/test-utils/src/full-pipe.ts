import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A pipe already filled to capacity that nobody reads, to give a child process as its stdout: a
 * stalled log shipper. `fd` is a blocking write end, as a shell or a supervisor hands it over.
 */
export async function createFullPipe(): Promise<{ fd: number; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "full-pipe-"));
  const path = join(dir, "stdout");
  execFileSync("mkfifo", [path]);
  // The read end stays open (a reader that never reads), so writes block or fail with EAGAIN
  // rather than EPIPE.
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const fd = openSync(path, constants.O_WRONLY);
  const filler = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  const chunk = Buffer.alloc(4096, "x");
  try {
    for (;;) writeSync(filler, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
  } finally {
    closeSync(filler);
  }
  return {
    fd,
    async close() {
      closeSync(fd);
      closeSync(reader);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
