import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** How a runtime resolves and loads code. */
export interface RuntimeTarget {
  /** Export conditions the runtime (or its bundler) resolves packages with. */
  conditions: readonly string[];
  /** `node` keeps `node:` built-ins external (Bun); `neutral` assumes no platform at all. */
  platform: "node" | "neutral";
  /** `iife` for a script evaluated in a context (`@edge-runtime/vm`), else an ES module. */
  format: "esm" | "iife";
  /** For `iife`: the global the entry's exports are left on. */
  globalName?: string;
}

/** Conditions of each runtime this package is tested on, as their own bundlers set them. */
export const TARGETS = {
  bun: { conditions: ["bun"], platform: "node", format: "esm" },
  deno: { conditions: ["deno"], platform: "neutral", format: "esm" },
  workerd: { conditions: ["workerd", "worker", "browser"], platform: "neutral", format: "esm" },
  edgeLight: {
    conditions: ["edge-light", "worker", "browser"],
    platform: "neutral",
    format: "iife",
    globalName: "edgeHarness",
  },
} as const satisfies Record<string, RuntimeTarget>;

/**
 * Bundles `entry` (a path relative to this folder) into one file of JavaScript for `target`, from
 * the package's sources (the `@repo/source` condition) and with `define`d constants.
 */
export async function bundle(
  entry: string,
  target: RuntimeTarget,
  define: Record<string, unknown> = {},
): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    write: false,
    format: target.format,
    globalName: target.globalName,
    platform: target.platform,
    conditions: ["@repo/source", ...target.conditions],
    mainFields: ["module", "main"],
    target: "es2022",
    define: Object.fromEntries(
      Object.entries(define).map(([name, value]) => [name, JSON.stringify(value)]),
    ),
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
  return output.text;
}
