import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConformanceReport } from "./conformance-suite.js";

/** How long a runtime may take to run the suite before the test gives up on it. */
const DEADLINE_MS = 50_000;

/**
 * Writes `code` to `main.mjs` in a new temporary folder, runs `binary` with `args(file)` there and
 * returns the report the program printed as its last line of output.
 */
export async function runReportingProgram(
  binary: string,
  args: (file: string) => string[],
  code: string,
  env: Record<string, string> = {},
): Promise<ConformanceReport> {
  const dir = await mkdtemp(join(tmpdir(), "auth-runtime-"));
  try {
    const file = join(dir, "main.mjs");
    await writeFile(file, code);
    const child = spawn(binary, args(file), {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", HOME: dir, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: DEADLINE_MS,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const [code_, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once("close", (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
    );
    const last = stdout.trim().split("\n").at(-1);
    if (code_ !== 0 || last === undefined) {
      throw new Error(`${binary} exited with ${code_ ?? signal}:\n${stdout}\n${stderr}`);
    }
    return JSON.parse(last) as ConformanceReport;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
