import { type ChildApp, spawnChildApp } from "./child-app.js";
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

/**
 * A private, throw-away `redis-server` on a random port, so a test can stop and restart Redis
 * without touching the shared instance on 6379. Nothing is persisted.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let app: ChildApp | undefined;

  const start = async () => {
    if (app?.isRunning()) return;
    app = spawnChildApp({
      name: `redis:${port}`,
      command: "redis-server",
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
      ],
    });
    await app.waitForLine(/Ready to accept connections/, 10_000);
  };
  await start();

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    isRunning: () => app?.isRunning() ?? false,
    start,
    async stop(signal = "SIGKILL") {
      await app?.stop(signal);
    },
  };
}
