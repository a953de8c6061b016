// The issuer's entry point as `pnpm dev` runs it: SIGTERM must stop it within its deadline whatever
// became of its output, a reader that went away (EPIPE) or one that stopped reading (a full pipe).
import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { createFullPipe } from "@repo/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { copyOfTestKeys } from "./support/keys-dir.js";

const packageDir = fileURLToPath(new URL("../", import.meta.url));
// close() drops connections after 2 s and the exit deadline is 5 s; the rest is for a loaded machine.
const DEADLINE_MS = 8_000;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startMain(
  port: number,
  stdout: "pipe" | number,
): Promise<{
  child: ChildProcess;
  discovery: string;
}> {
  const keysDir = await copyOfTestKeys();
  cleanups.push(() => rm(keysDir, { recursive: true, force: true }));
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=@repo/source", "src/main.ts"],
    {
      cwd: packageDir,
      env: { PATH: process.env.PATH ?? "", ISSUER_PORT: String(port), ISSUER_KEYS_DIR: keysDir },
      stdio: ["ignore", stdout, "ignore"] satisfies StdioOptions,
    },
  );
  cleanups.push(() => child.exitCode === null && child.kill("SIGKILL"));
  const discovery = `http://127.0.0.1:${port}/.well-known/openid-configuration`;
  for (;;) {
    const answered = await fetch(discovery).then(
      (res) => res.ok,
      () => false,
    );
    if (answered) break;
    if (child.exitCode !== null) throw new Error(`the issuer exited with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, discovery };
}

/** How the process ended, or `undefined` if it still ran `DEADLINE_MS` after SIGTERM. */
async function terminate(child: ChildProcess) {
  const exited = once(child, "exit").then(([code, signal]) => ({ code, signal }));
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, DEADLINE_MS, undefined);
  });
  const status = await Promise.race([exited, deadline]);
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

describe("issuer shutdown whatever its output does", () => {
  it("exits 0 on SIGTERM after its output reader went away (EPIPE)", async () => {
    const { child, discovery } = await startMain(await freePort(), "pipe");
    child.stdout?.destroy();
    expect((await fetch(discovery)).status).toBe(200);
    expect(await terminate(child)).toEqual({ code: 0, signal: null });
  });

  it("exits 0 on SIGTERM while nobody reads its full output pipe", async () => {
    const pipe = await createFullPipe();
    cleanups.push(() => pipe.close());
    const { child } = await startMain(await freePort(), pipe.fd);
    expect(await terminate(child)).toEqual({ code: 0, signal: null });
  });
});
