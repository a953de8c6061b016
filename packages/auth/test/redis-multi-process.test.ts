import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { startTokenServer } from "./support/token-server.js";

const PROCESSES = 4;
const CALLS = 100;
const worker = fileURLToPath(new URL("./workers/token-worker.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
});

interface WorkerResult {
  tokens: string[];
  calls: number;
  stats: { tokenRequests: number; storeDegraded: boolean };
}

function startWorker(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@repo/source", worker], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(child);
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buffer = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    lines.push(...parts);
    for (const waiter of waiters.splice(0)) waiter();
  });
  const line = async (index: number): Promise<string> => {
    while (lines.length <= index) {
      const exited = once(child, "exit").then(() => {
        throw new Error("worker exited early");
      });
      await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), exited]);
    }
    return lines[index] ?? "";
  };
  return { child, line };
}

describe("redisStore across processes", () => {
  it(`${PROCESSES} processes × ${CALLS} concurrent calls → 1 token request`, async () => {
    const server = await startTokenServer();
    // a slow answer keeps the lock held while the other processes ask
    server.fallback = { kind: "token", delayMs: 200 };
    const prefix = `test:auth:${randomUUID()}:`;
    try {
      const workers = Array.from({ length: PROCESSES }, () =>
        startWorker({
          TOKEN_ENDPOINT: server.tokenEndpoint,
          REDIS_URL: "redis://127.0.0.1:6379",
          PREFIX: prefix,
          CALLS: String(CALLS),
        }),
      );
      expect(await Promise.all(workers.map((w) => w.line(0)))).toEqual(
        Array(PROCESSES).fill("ready"),
      );
      for (const w of workers) w.child.stdin?.write("go\n");
      const results = await Promise.all(
        workers.map(async (w) => JSON.parse(await w.line(1)) as WorkerResult),
      );
      expect(server.requests).toBe(1);
      expect(new Set(results.flatMap((r) => r.tokens))).toEqual(new Set(["token-1"]));
      expect(results.map((r) => r.calls)).toEqual(Array(PROCESSES).fill(CALLS));
      expect(results.reduce((sum, r) => sum + r.stats.tokenRequests, 0)).toBe(1);
      expect(results.every((r) => !r.stats.storeDegraded)).toBe(true);
    } finally {
      await server.close();
      const admin = new Redis("redis://127.0.0.1:6379");
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
      await admin.quit();
    }
  });
});
