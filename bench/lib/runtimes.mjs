/**
 * The runtimes the `runtimes` section measures `@repo/auth` on, how each resolves the package
 * (its export conditions), and how to run a bundled probe in it. The binaries come from the npm
 * packages `bun`, `deno` and `workerd` (their platform packages; their install scripts are not
 * run), and `@edge-runtime/vm`.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const libDir = dirname(fileURLToPath(import.meta.url));
const esbuild = require("esbuild");

const PLATFORM_BINARIES = {
  bun: { x64: ["@oven/bun-linux-x64", "bin/bun"], arm64: ["@oven/bun-linux-aarch64", "bin/bun"] },
  deno: {
    x64: ["@deno/linux-x64-glibc", "deno"],
    arm64: ["@deno/linux-arm64-glibc", "deno"],
  },
};

function binary(runtime) {
  if (runtime === "workerd") return require("workerd").default;
  const entry = process.platform === "linux" ? PLATFORM_BINARIES[runtime][process.arch] : undefined;
  if (entry === undefined)
    throw new Error(`no ${runtime} binary for ${process.platform}-${process.arch}`);
  const [name, path] = entry;
  const fromRuntime = createRequire(require.resolve(`${runtime}/package.json`));
  return join(dirname(fromRuntime.resolve(`${name}/package.json`)), path);
}

const versionOf = (name) => require(`${name}/package.json`).version;

const NEUTRAL = { platform: "neutral", format: "esm" };

/** Each measured runtime and build: the conditions it resolves `@repo/auth` with decide the build. */
export const RUNTIMES = [
  {
    id: "node",
    runtime: "Node",
    version: process.versions.node,
    build: "node:crypto",
    launch: "process",
    binary: () => process.execPath,
    args: [],
    bundle: { conditions: ["node"], platform: "node", format: "esm" },
  },
  {
    id: "node-web",
    runtime: "Node",
    version: process.versions.node,
    build: "WebCrypto",
    launch: "process",
    binary: () => process.execPath,
    args: [],
    bundle: { conditions: [], ...NEUTRAL },
  },
  {
    id: "bun",
    runtime: "Bun",
    version: versionOf("bun"),
    build: "node:crypto",
    launch: "process",
    binary: () => binary("bun"),
    args: ["run"],
    bundle: { conditions: ["bun"], platform: "node", format: "esm" },
  },
  {
    id: "bun-web",
    runtime: "Bun",
    version: versionOf("bun"),
    build: "WebCrypto",
    launch: "process",
    binary: () => binary("bun"),
    args: ["run"],
    bundle: { conditions: [], ...NEUTRAL },
  },
  {
    id: "deno",
    runtime: "Deno",
    version: versionOf("deno"),
    build: "WebCrypto",
    launch: "process",
    binary: () => binary("deno"),
    args: ["run", "--no-config", "--allow-net=127.0.0.1"],
    bundle: { conditions: ["deno"], ...NEUTRAL },
  },
  {
    id: "workerd",
    runtime: "workerd",
    version: versionOf("workerd"),
    build: "WebCrypto",
    launch: "workerd",
    bundle: { conditions: ["workerd", "worker", "browser"], ...NEUTRAL },
  },
  {
    id: "edge-vm",
    runtime: "@edge-runtime/vm",
    version: `${versionOf("@edge-runtime/vm")} on Node ${process.versions.node}`,
    build: "WebCrypto",
    launch: "edge-vm",
    bundle: {
      conditions: ["edge-light", "worker", "browser"],
      platform: "neutral",
      format: "iife",
      globalName: "edgeProbe",
    },
  },
];

/** Bundles a probe entry of bench/lib for `target` with `define`d constants. */
export async function bundleProbe(entry, target, define) {
  const result = await esbuild.build({
    entryPoints: [join(libDir, entry)],
    bundle: true,
    write: false,
    ...target,
    mainFields: ["module", "main"],
    target: "es2022",
    define: Object.fromEntries(Object.entries(define).map(([k, v]) => [k, JSON.stringify(v)])),
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

async function inTempDir(files, run) {
  const dir = await mkdtemp(join(tmpdir(), "bench-runtime-"));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a bundled program in a runtime's process and returns the JSON it prints last. */
export function runProcess(runtime, code) {
  return inTempDir({ "main.mjs": code }, async (dir) => {
    const child = spawn(runtime.binary(), [...runtime.args, "main.mjs"], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, DENO_NO_UPDATE_CHECK: "1", DO_NOT_TRACK: "1" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    const [code_] = await once(child, "close");
    if (code_ !== 0) throw new Error(`${runtime.id} exited with ${code_}: ${stdout}`);
    return JSON.parse(stdout.trim().split("\n").at(-1));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Serves a bundled Worker with `workerd serve` on 127.0.0.1 (outbound requests to loopback only)
 * while `use(url)` runs.
 */
export async function withWorkerd(code, use) {
  const port = await freePort();
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "probe", worker = .probe), (name = "loopback", network = (allow = ["local"]))],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "probe")],
);
const probe :Workerd.Worker = (
  modules = [(name = "probe.mjs", esModule = embed "probe.mjs")],
  compatibilityDate = "2025-09-01",
  globalOutbound = "loopback",
);
`;
  return inTempDir({ "probe.mjs": code, "config.capnp": config }, async (dir) => {
    const child = spawn(binary("workerd"), ["serve", "config.capnp"], {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      for (let attempt = 0; ; attempt += 1) {
        try {
          await fetch(url);
          break;
        } catch (error) {
          if (attempt === 200 || child.exitCode !== null) {
            throw new Error(`workerd did not start: ${stderr}`, { cause: error });
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      return await use(url);
    } finally {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    }
  });
}
