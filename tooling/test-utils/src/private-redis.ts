import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { freePort } from "./free-port.js";

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  isRunning(): boolean;
  /** Stops the server (SIGKILL by default: an abrupt loss, as when a host dies). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

export interface PrivateRedisOptions {
  /** Default: a free port. */
  port?: number;
  /** How long the server may take to accept connections, ms. Default 10 000. */
  readyTimeout?: number;
}

const running = new Set<ChildProcess>();

// A test runner that exits without its teardown (a crash, a timeout) must not leave servers behind.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * A throw-away `redis-server` on 127.0.0.1 that persists nothing, so a test can count its commands,
 * stop it and start it again without touching the shared instance on 6379.
 */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = options.port ?? (await freePort());
  const readyTimeout = options.readyTimeout ?? 10_000;
  let child: ChildProcess | undefined;
  const isRunning = () => child !== undefined && child.exitCode === null && !child.signalCode;

  const start = async () => {
    if (isRunning()) return;
    const started = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    child = started;
    running.add(started);
    started.once("exit", () => running.delete(started));
    await ready(started, readyTimeout);
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    isRunning,
    start,
    async stop(signal = "SIGKILL") {
      if (!child || !isRunning()) return;
      const exited = once(child, "exit");
      child.kill(signal);
      await exited;
    },
  };
}

function ready(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) return resolve();
      child.kill("SIGKILL");
      reject(error);
    };
    const timer = setTimeout(
      () => settle(new Error(`redis-server not ready within ${timeoutMs} ms: ${output}`)),
      timeoutMs,
    );
    // Read to the end either way: a pipe nobody drains would stall the server once it fills.
    child.stdout?.on("data", (chunk: Buffer) => {
      if (settled) return;
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) settle();
    });
    child.once("exit", (code) => settle(new Error(`redis-server exited (${code}): ${output}`)));
    child.once("error", settle);
  });
}
