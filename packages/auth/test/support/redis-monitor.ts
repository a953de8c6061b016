import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";

/** One command as Redis executed it (commands run by a Lua script included). */
export interface MonitoredCommand {
  /** Server time, in ms with a µs fraction. */
  readonly at: number;
  /** Lower-case command name. */
  readonly name: string;
  readonly args: readonly string[];
  /** `"lua"` for a command a script ran, otherwise the client's address. */
  readonly source: string;
}

export interface RedisMonitor {
  readonly commands: readonly MonitoredCommand[];
  /** Resolves once `predicate` holds for the commands seen so far. */
  until(predicate: (commands: readonly MonitoredCommand[]) => boolean): Promise<void>;
  /**
   * Resolves once every command Redis ran before this call is in `commands` (MONITOR reports them
   * a little after their callers have their answers). Its own marker command is left out.
   */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Records every command a Redis server runs (MONITOR), for tests that count them. */
export async function monitorRedis(url: string): Promise<RedisMonitor> {
  const connection = new Redis(url);
  // ready before monitoring starts, so that its own handshake is not recorded
  await connection.ping();
  const monitor = await connection.monitor();
  // Tests stop their server under it; reconnecting quietly is all it should do.
  for (const redis of [connection, monitor]) redis.on("error", () => {});
  const markers = new Set<string>();
  const commands: MonitoredCommand[] = [];
  const waiters: Array<{ predicate: (c: readonly MonitoredCommand[]) => boolean; done(): void }> =
    [];
  const flushed = new Set<string>();
  const settle = () => {
    for (const waiter of waiters.filter((w) => w.predicate(commands))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.done();
    }
  };
  monitor.on("monitor", (time: string, args: string[], source: string) => {
    const [name = "", ...rest] = args;
    if (name.toLowerCase() === "echo" && markers.delete(rest[0] ?? "")) {
      flushed.add(rest[0] ?? "");
      return settle();
    }
    commands.push({ at: Number(time) * 1_000, name: name.toLowerCase(), args: rest, source });
    settle();
  });
  const until = (predicate: (c: readonly MonitoredCommand[]) => boolean) => {
    if (predicate(commands)) return Promise.resolve();
    return new Promise<void>((done) => waiters.push({ predicate, done }));
  };
  return {
    commands,
    until,
    async flush() {
      const marker = `flush:${randomUUID()}`;
      markers.add(marker);
      await connection.echo(marker);
      await until(() => flushed.has(marker));
    },
    async stop() {
      monitor.disconnect();
      connection.disconnect();
    },
  };
}
