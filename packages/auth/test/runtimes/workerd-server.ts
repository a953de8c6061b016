import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "@repo/test-utils";
import { runtimeBinary } from "./runtime-binary.js";

/** One Worker of the generated configuration: its bundled module and its text bindings. */
export interface WorkerSpec {
  name: string;
  code: string;
  bindings?: Record<string, string>;
}

export interface Workerd {
  /** `http://127.0.0.1:<port>` of each Worker, by name. */
  url(name: string): string;
  /** Everything workerd printed. */
  output(): string;
  close(): Promise<void>;
}

// Later compatibility dates only add behaviours this package does not depend on.
const COMPATIBILITY_DATE = "2025-09-01";

function config(workers: readonly WorkerSpec[], ports: ReadonlyMap<string, number>): string {
  const services = workers.map((worker) => `(name = "${worker.name}", worker = .${worker.name})`);
  const sockets = workers.map(
    (worker) =>
      `(name = "${worker.name}", address = "127.0.0.1:${ports.get(worker.name)}", http = (), service = "${worker.name}")`,
  );
  const definitions = workers.map((worker) => {
    const bindings = Object.entries(worker.bindings ?? {}).map(
      ([name, text]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(text)})`,
    );
    return `const ${worker.name} :Workerd.Worker = (
  modules = [(name = "${worker.name}.mjs", esModule = embed "${worker.name}.mjs")],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [${bindings.join(", ")}],
  globalOutbound = "loopback",
);`;
  });
  // Workers may reach this machine's loopback servers only: "local" is 127.0.0.0/8 and ::1.
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [${[...services, '(name = "loopback", network = (allow = ["local"]))'].join(", ")}],
  sockets = [${sockets.join(", ")}],
);

${definitions.join("\n\n")}
`;
}

/**
 * Runs `workerd serve` on a generated configuration: each Worker on its own 127.0.0.1 port, with
 * outbound requests allowed to loopback addresses only. Resolves once every Worker answers.
 */
export async function startWorkerd(workers: readonly WorkerSpec[]): Promise<Workerd> {
  const dir = await mkdtemp(join(tmpdir(), "auth-workerd-"));
  const ports = new Map<string, number>();
  for (const worker of workers) {
    ports.set(worker.name, await freePort());
    await writeFile(join(dir, `${worker.name}.mjs`), worker.code);
  }
  await writeFile(join(dir, "config.capnp"), config(workers, ports));
  let output = "";
  const child: ChildProcess = spawn(runtimeBinary("workerd"), ["serve", "config.capnp"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const url = (name: string) => `http://127.0.0.1:${ports.get(name)}`;
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const worker of workers) {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`workerd exited:\n${output}`);
          return (await fetch(url(worker.name), { method: "HEAD" })).status > 0;
        },
        { timeout: 30_000, message: `workerd serving ${worker.name}` },
      );
    }
  } catch (error) {
    await close();
    throw new Error(`workerd did not start:\n${output}`, { cause: error });
  }
  return { url, output: () => output, close };
}
