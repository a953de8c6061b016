import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "@repo/test-utils";
import { afterAll, beforeAll, expect, it } from "vitest";
import { copyWorkspace } from "./test-support/workspace-copy.js";

// `pnpm --filter <app> start` as a newcomer runs it on a fresh clone, before any build.
const repo = resolve(import.meta.dirname, "..");
let copy: string;
const children = new Set<ChildProcess>();

beforeAll(() => {
  copy = copyWorkspace(repo);
});

afterAll(() => {
  for (const child of children) {
    if (child.pid && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  }
  if (copy) rmSync(copy, { recursive: true, force: true });
});

function start(app: string, env: Record<string, string>) {
  const child = spawn("pnpm", ["--filter", `@repo/${app}`, "start"], {
    cwd: copy,
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", NEXT_TELEMETRY_DISABLED: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  /** Resolves with the first stdout line that `ready` accepts; rejects if the app exits first. */
  const line = (ready: (line: string) => boolean) =>
    new Promise<string>((done, fail) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (text) => {
        if (ready(text)) done(text);
      });
      void exited.then((code) => fail(new Error(`${app} exited (${code}):\n${stdout}${stderr}`)));
    });
  const stop = async () => {
    if (child.pid && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
    await exited;
    children.delete(child);
  };
  return { exited, line, stop, output: () => `${stdout}${stderr}` };
}

it("web: one line naming the build command, exit code 1, no stack trace", async () => {
  const web = start("web", { PORT: String(await freePort()) });
  expect(await web.exited).not.toBe(0);
  const output = web.output();
  expect(output).toContain(
    "@repo/web is not built yet (no apps/web/.next/BUILD_ID): run `pnpm turbo run build --filter=@repo/web` first.",
  );
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toContain("Could not find a production build");
});

it("issuer: builds itself first, then serves", async () => {
  const keysDir = mkdtempSync(join(tmpdir(), "issuer-keys-"));
  try {
    const issuer = start("issuer", { ISSUER_PORT: "0", ISSUER_KEYS_DIR: keysDir });
    const ready = await issuer.line((line) => line.startsWith("issuer ready at "));
    const url = /issuer ready at (\S+)/.exec(ready)?.[1] ?? "";
    expect(issuer.output()).toContain(
      "building it first with `pnpm turbo run build --filter=@repo/issuer`",
    );
    expect((await fetch(url)).status).toBe(200);
    await issuer.stop();
  } finally {
    rmSync(keysDir, { recursive: true, force: true });
  }
});

it("api: builds itself and @repo/auth first, then serves, its stdout still its own JSON lines", async () => {
  const api = start("api", { PORT: "0", ISSUER_BASE_URL: `http://127.0.0.1:${await freePort()}/` });
  const listening = JSON.parse(await api.line((line) => line.includes('"msg":"listening"'))) as {
    url: string;
  };
  expect(api.output()).toContain(
    "building it first with `pnpm turbo run build --filter=@repo/api`",
  );
  expect((await fetch(`${listening.url}/healthz`)).status).toBe(200);
  await api.stop();
});
