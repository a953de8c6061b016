import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

// The package that ships each runtime's binary for this platform, and the binary's path in it. The
// runtimes' own install scripts, which only copy these into place, are not run.
const PLATFORM_PACKAGES: Record<string, Record<string, [string, string]>> = {
  bun: {
    "linux-x64": ["@oven/bun-linux-x64", "bin/bun"],
    "linux-arm64": ["@oven/bun-linux-aarch64", "bin/bun"],
    "darwin-x64": ["@oven/bun-darwin-x64", "bin/bun"],
    "darwin-arm64": ["@oven/bun-darwin-aarch64", "bin/bun"],
  },
  deno: {
    "linux-x64": ["@deno/linux-x64-glibc", "deno"],
    "linux-arm64": ["@deno/linux-arm64-glibc", "deno"],
    "darwin-x64": ["@deno/darwin-x64", "deno"],
    "darwin-arm64": ["@deno/darwin-arm64", "deno"],
  },
  workerd: {
    "linux-x64": ["@cloudflare/workerd-linux-64", "bin/workerd"],
    "linux-arm64": ["@cloudflare/workerd-linux-arm64", "bin/workerd"],
    "darwin-x64": ["@cloudflare/workerd-darwin-64", "bin/workerd"],
    "darwin-arm64": ["@cloudflare/workerd-darwin-arm64", "bin/workerd"],
  },
};

/** The absolute path of `runtime`'s binary, from the npm package of that name (a devDependency). */
export function runtimeBinary(runtime: "bun" | "deno" | "workerd"): string {
  const platform = `${process.platform}-${process.arch}`;
  const entry = PLATFORM_PACKAGES[runtime]?.[platform];
  if (entry === undefined) throw new Error(`no ${runtime} binary is known for ${platform}`);
  const [name, path] = entry;
  const fromRuntime = createRequire(require.resolve(`${runtime}/package.json`));
  return join(dirname(fromRuntime.resolve(`${name}/package.json`)), path);
}

/** The version of `runtime`'s npm package, which is the version of the binary it ships. */
export function runtimeVersion(runtime: "bun" | "deno" | "workerd" | "@edge-runtime/vm"): string {
  return (require(`${runtime}/package.json`) as { version: string }).version;
}
