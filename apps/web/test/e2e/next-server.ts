import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export const webDir = fileURLToPath(new URL("../../", import.meta.url));

/** Fails with what to do when there is no production build to test. */
export function assertProductionBuild(): void {
  if (!existsSync(new URL("../../.next/BUILD_ID", import.meta.url))) {
    throw new Error(
      "apps/web has no production build (.next/BUILD_ID is missing). Run `pnpm build` at the repository root (or `pnpm --filter @repo/web build`) before the browser tests.",
    );
  }
}

/** Variables the web app reads; the parent's values must not leak into a test server. */
const webVariables = [
  "API_URL",
  "ISSUER_BASE_URL",
  "TOKEN_ENDPOINT",
  "CLIENT_ID",
  "CLIENT_SECRET",
  "AUDIENCE",
  "REDIS_URL",
  "PORT",
  "NODE_ENV",
];

export interface NextServer {
  readonly url: string;
  /** Everything the server printed, for assertions and for failure messages. */
  output(): string;
  close(): Promise<void>;
}

/**
 * Runs `next start` on the existing production build, on a port the OS picks (printed by Next as
 * its "Local:" address), and resolves once it accepts requests.
 */
export async function startNextServer(env: Record<string, string>): Promise<NextServer> {
  assertProductionBuild();
  const nextBin = createRequire(`${webDir}package.json`).resolve("next/dist/bin/next");
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of webVariables) delete childEnv[name];
  const child: ChildProcess = spawn(
    process.execPath,
    [nextBin, "start", "--hostname", "127.0.0.1", "--port", "0"],
    {
      cwd: webDir,
      env: { ...childEnv, ...env, NEXT_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));

  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const local = /Local:\s+(http:\/\/[^\s]+)/.exec(output);
      if (local?.[1] && /Ready in/.test(output)) resolve(local[1].replace(/\/$/, ""));
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    exited.then((code) =>
      reject(new Error(`next start exited with ${code} before it was ready:\n${output}`)),
    );
  });

  return {
    url,
    output: () => output,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}
