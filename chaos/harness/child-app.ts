import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { repoRoot } from "./repo-root.js";

export interface ChildAppOptions {
  /** Short name used in logs and error messages. */
  name: string;
  /** Executable; defaults to the current Node binary. */
  command?: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** How many output lines to keep (the oldest are dropped). Default 4 000. */
  maxLines?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A process started in its own process group, with its output collected line by line so tests
 * can wait on what it prints instead of sleeping.
 */
export interface ChildApp {
  readonly name: string;
  readonly pid: number;
  /** Every collected output line (stdout and stderr), oldest first, bounded. */
  readonly lines: readonly string[];
  /** Settles when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  isRunning(): boolean;
  /** Resolves with the first line (already printed or future) that matches. */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Sends `signal` to the whole group, waits for exit, then kills the group after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitStatus>;
  /** The last output lines, for failure messages. */
  tail(count?: number): string;
  /** Closes the read ends of its stdout and stderr: its next write fails with EPIPE. */
  closeOutput(): void;
  /** Stops reading its stdout and stderr: once the pipes are full, its writes find them full. */
  stallOutput(): void;
}

const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    TURBO_TELEMETRY_DISABLED: "1",
  };
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
};

const running = new Set<ChildApp>();

// Children run in their own process groups, so they would outlive a test runner that exits
// without its teardown (a crash, a timeout): take them down with it.
process.once("exit", () => {
  for (const app of running) {
    try {
      process.kill(-app.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
});

/** Kills every child still running; the suite calls it after each test as a safety net. */
export async function stopAllChildApps(): Promise<void> {
  await Promise.all([...running].map((app) => app.stop("SIGKILL")));
}

export function spawnChildApp(options: ChildAppOptions): ChildApp {
  const child: ChildProcess = spawn(options.command ?? process.execPath, options.args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...baseEnv(), ...options.env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} did not start`);

  const lines: string[] = [];
  const maxLines = options.maxLines ?? 4_000;
  const watchers = new Set<(line: string) => void>();
  let alive = true;

  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => {
      alive = false;
      resolve({ code, signal });
    });
  });

  const outputs = [child.stdout, child.stderr];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    if (!stream) return;
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      if (lines.length > maxLines) lines.splice(0, lines.length - maxLines);
      for (const watcher of watchers) watcher(line);
    });
  };
  collect(child.stdout);
  collect(child.stderr);

  const tail = (count = 40) => lines.slice(-count).join("\n");

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone.
    }
  };

  const app: ChildApp = {
    name: options.name,
    pid,
    lines,
    exited,
    isRunning: () => alive,
    tail,
    closeOutput: () => {
      for (const stream of outputs) stream?.destroy();
    },
    stallOutput: () => {
      for (const stream of outputs) stream?.pause();
    },
    waitForLine(match, timeoutMs = 30_000) {
      const test = typeof match === "function" ? match : (line: string) => match.test(line);
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          watchers.delete(watcher);
        };
        const watcher = (line: string) => {
          if (!test(line)) return;
          done();
          resolve(line);
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `${options.name}: no line matching ${match} within ${timeoutMs} ms\n${tail()}`,
            ),
          );
        }, timeoutMs);
        watchers.add(watcher);
        void exited.then((status) => {
          if (!watchers.has(watcher)) return;
          done();
          reject(
            new Error(
              `${options.name} exited (${JSON.stringify(status)}) before printing ${match}\n${tail()}`,
            ),
          );
        });
      });
    },
    async stop(signal = "SIGTERM", graceMs = 10_000) {
      if (alive) {
        killGroup(signal);
        const timer = setTimeout(() => killGroup("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // Grandchildren (a shell's child, Next's workers) may outlive the leader.
      killGroup("SIGKILL");
      running.delete(app);
      return exited;
    },
  };
  running.add(app);
  return app;
}
