import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { createFullPipe } from "@repo/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { type ApiProcess, startApiProcess } from "./fixtures/api-process.js";
import { waitFor } from "./fixtures/wait-for.js";

// SIGTERM must stop the API within its deadline whatever became of its log output: a reader that
// went away (EPIPE) or one that stopped reading (a full pipe). The authorization server is not
// needed: the API serves /healthz while it is down.
const UNREACHABLE_ISSUER = "http://127.0.0.1:9/";
const SHUTDOWN_TIMEOUT = 1;
// SHUTDOWN_TIMEOUT, the second the exit deadline adds, and room for a loaded machine.
const DEADLINE_MS = (SHUTDOWN_TIMEOUT + 1) * 1000 + 3000;
const env = (port = 0) => ({
  PORT: String(port),
  ISSUER_BASE_URL: UNREACHABLE_ISSUER,
  SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT),
});

const running = new Set<ApiProcess>();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const api of running) if (api.child.exitCode === null) api.child.kill("SIGKILL");
  running.clear();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** How the process ended, or `undefined` if it was still running `DEADLINE_MS` after SIGTERM. */
async function terminate(api: ApiProcess) {
  api.child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, DEADLINE_MS, undefined);
  });
  const status = await Promise.race([api.exited, deadline]);
  clearTimeout(timer);
  return status;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** Requests that each write a log line into the broken output. */
async function logSome(url: string) {
  for (let i = 0; i < 20; i++) expect((await fetch(`${url}/healthz`)).status).toBe(200);
}

describe("shutdown whatever the log output does", () => {
  it("exits 0 on SIGTERM after the log reader went away (EPIPE)", async () => {
    const api = startApiProcess(env());
    running.add(api);
    const line = await api.waitForLine((text) => text.includes('"msg":"listening"'));
    const { url } = JSON.parse(line) as { url: string };
    api.child.stdout?.destroy();
    await logSome(url);
    expect(await terminate(api)).toEqual({ code: 0, signal: null });
  });

  it("exits 0 on SIGTERM while nobody reads a full log pipe", async () => {
    const pipe = await createFullPipe();
    cleanups.push(() => pipe.close());
    const port = await freePort();
    const api = startApiProcess(env(port), ["ignore", pipe.fd, "pipe"]);
    running.add(api);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      () =>
        fetch(`${url}/healthz`).then(
          (res) => res.ok,
          () => false,
        ),
      "the API",
      // A start opens and migrates the embedded database first: on a loaded machine, seconds.
      30_000,
    );
    await logSome(url);
    expect(await terminate(api)).toEqual({ code: 0, signal: null });
  });

  it("is killed at its exit deadline even when its main thread is blocked", async () => {
    const module = fileURLToPath(new URL("../src/exit-deadline.ts", import.meta.url));
    const blocked = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "--eval",
        `import { armExitDeadline } from ${JSON.stringify(module)}; armExitDeadline(100); for (;;);`,
      ],
      { stdio: "ignore" },
    );
    cleanups.push(async () => {
      if (blocked.exitCode === null && blocked.signalCode === null) blocked.kill("SIGKILL");
    });
    const [code, signal] = await once(blocked, "exit");
    expect({ code, signal }).toEqual({ code: null, signal: "SIGKILL" });
  });
});
